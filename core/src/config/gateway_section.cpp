#include "gateway_section.hpp"

#include "text_util.hpp"
#include "toml_util.hpp"

#include <algorithm>
#include <array>

namespace iotgw::core::config_detail {

namespace {

FieldSpec spec(const char* name, iotgw_value_type type) {
    FieldSpec f;
    f.name = name;
    f.type = type;
    return f;
}

const std::vector<std::string>& gateway_keys() {
    static const std::vector<std::string> keys{"thing",        "plugin_dirs", "log_level",
                                               "stop_timeout", "overlay_dir", "variables"};
    return keys;
}

struct Level {
    const char* name;
    int value;
};
constexpr std::array<Level, 5> kLevels{{{"error", IOTGW_LOG_ERROR},
                                        {"warning", IOTGW_LOG_WARNING},
                                        {"notice", IOTGW_LOG_NOTICE},
                                        {"info", IOTGW_LOG_INFO},
                                        {"debug", IOTGW_LOG_DEBUG}}};

// AWS IoT thing names: [a-zA-Z0-9:_-]{1,128}.
bool valid_thing_name(std::string_view s) {
    return !s.empty() && s.size() <= 128 && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
               c == '_' || c == '-';
    });
}

bool valid_variable_name(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
               c == '.' || c == '-';
    });
}

std::string context(const char* key) { return std::string("key '") + key + "' of [gateway]"; }

}  // namespace

std::optional<OverlayDir> read_overlay_dir(LoadContext& ctx, const toml::table& root,
                                           const std::string& main_display) {
    const toml::table* gw = root.get_as<toml::table>("gateway");
    const toml::node* n = gw != nullptr ? gw->get("overlay_dir") : nullptr;
    if (n == nullptr) return std::nullopt;
    ConfigValue v;
    if (!read_value(ctx, spec("overlay_dir", IOTGW_TYPE_STRING), *n, context("overlay_dir"), v, true))
        return std::nullopt;
    const auto& text = std::get<std::string>(v.data);
    if (text.empty()) {
        ctx.error(pos_of(*n), context("overlay_dir") + ": the path is empty");
        return std::nullopt;
    }
    OverlayDir out;
    out.absolute = resolve_path(ctx.main_dir, text);
    std::filesystem::path shown(text);
    out.display = shown.is_absolute() ? shown.lexically_normal().string()
                                      : (std::filesystem::path(main_display).parent_path() / shown).lexically_normal().string();
    std::error_code ec;
    if (!std::filesystem::is_directory(out.absolute, ec)) {
        ctx.error(pos_of(*n), context("overlay_dir") + ": directory '" + out.absolute.string() + "' does not exist");
        return std::nullopt;
    }
    return out;
}

void read_gateway(LoadContext& ctx, const toml::table& root, GatewaySettings& out) {
    const toml::node* node = root.get("gateway");
    SourcePos file_pos;
    file_pos.file = ctx.files.empty() ? std::string() : ctx.files.front();
    if (node == nullptr) {
        ctx.error(file_pos, "missing [gateway] table; it must set at least 'thing', the AWS IoT thing name");
        return;
    }
    const toml::table* gw = node->as_table();
    if (gw == nullptr) {
        ctx.error(pos_of(*node), "'gateway' must be a table, found " + describe_node(*node));
        return;
    }
    for (const auto& e : ordered_entries(*gw, ctx.files)) {
        std::string_view key = e.key->str();
        if (std::find(gateway_keys().begin(), gateway_keys().end(), key) == gateway_keys().end())
            report_unknown_key(ctx, pos_of(*e.key, *e.node), key, "[gateway]", gateway_keys());
    }

    ConfigValue v;
    if (const toml::node* n = gw->get("thing")) {
        if (read_value(ctx, spec("thing", IOTGW_TYPE_STRING), *n, context("thing"), v, true)) {
            const auto& thing = std::get<std::string>(v.data);
            if (valid_thing_name(thing))
                out.thing = thing;
            else
                ctx.error(pos_of(*n), context("thing") + ": " + quote_text(thing) +
                                          " is not a valid thing name; use 1 to 128 letters, digits, ':', '_' "
                                          "or '-'");
        }
    } else {
        ctx.error(pos_of(*gw), "[gateway] is missing required key 'thing' (the AWS IoT thing name)");
    }

    if (const toml::node* n = gw->get("plugin_dirs")) {
        if (read_value(ctx, spec("plugin_dirs", IOTGW_TYPE_STRING_ARRAY), *n, context("plugin_dirs"), v, true)) {
            const auto& dirs = std::get<std::vector<std::string>>(v.data);
            for (std::size_t i = 0; i < dirs.size(); ++i) {
                if (dirs[i].empty()) {
                    ctx.error(pos_of(*n), context("plugin_dirs") + ": entry " + std::to_string(i) + " is empty");
                    continue;
                }
                const toml::node* element = n->as_array()->get(i);
                out.plugin_dirs.emplace_back(resolve_path(ctx.base_dir_of(element->source()), dirs[i]));
            }
        }
    }

    if (const toml::node* n = gw->get("log_level")) {
        FieldSpec f = spec("log_level", IOTGW_TYPE_STRING);
        for (const auto& l : kLevels) f.choices.emplace_back(l.name);
        if (read_value(ctx, f, *n, context("log_level"), v, true)) {
            for (const auto& l : kLevels)
                if (std::get<std::string>(v.data) == l.name) out.log_level = l.value;
        }
    }

    if (const toml::node* n = gw->get("stop_timeout")) {
        FieldSpec f = spec("stop_timeout", IOTGW_TYPE_DURATION);
        f.min = 100;
        f.max = 60'000;
        if (read_value(ctx, f, *n, context("stop_timeout"), v, true)) out.stop_timeout_ms = std::get<int64_t>(v.data);
    }

    // overlay_dir itself was read from the main document before merging.
    if (const toml::node* n = gw->get("overlay_dir"); n != nullptr && !ctx.files.empty()) {
        const auto& path = n->source().path;
        if (path && *path != ctx.files.front())
            ctx.error(pos_of(*n), "overlay_dir can only be set in the main config file, not in an overlay");
    }

    // ${thing} is always defined, even when the name was invalid, so that a wrong thing name
    // does not also produce an "unknown variable" error at every use.
    ctx.vars.set("thing", out.thing);
    out.variables["thing"] = out.thing;
    if (const toml::node* n = gw->get("variables")) {
        if (read_value(ctx, spec("variables", IOTGW_TYPE_STRING_MAP), *n, "[gateway.variables]", v, true)) {
            const toml::table* t = n->as_table();
            for (const auto& [name, value] : std::get<StringMap>(v.data)) {
                SourcePos where = pos_of(*t->get(name));
                if (name == "thing") {
                    ctx.error(where, "[gateway.variables] cannot define 'thing'; ${thing} is always the thing name");
                } else if (!valid_variable_name(name)) {
                    ctx.error(where, "[gateway.variables]: invalid variable name " + quote_text(name) +
                                         "; use letters, digits, '_', '.' and '-'");
                } else {
                    ctx.vars.set(name, value);
                    out.variables[name] = value;
                }
            }
        }
    }
}

}  // namespace iotgw::core::config_detail
