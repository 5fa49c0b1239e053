#include "gateway_section.hpp"

#include "text_util.hpp"
#include "toml_util.hpp"

#include <algorithm>
#include <array>

namespace iotgw::core::config_detail {

namespace {

constexpr const char* kHeader = "[gateway]";

// What read_gateway does with one field once read_value has checked it against its spec.
using ApplyField = void (*)(LoadContext& ctx, const toml::node& n, const ConfigValue& v,
                            GatewaySettings& out);

// One key of [gateway]: its schema, as plugins declare theirs, plus what the value means.
struct GatewayField {
    FieldSpec spec;
    ApplyField apply = nullptr;   // nullptr: read before merging (read_overlay_dir)
    bool main_file_only = false;  // overlays may not set it
    std::string context;          // how messages name it; empty: "key '<name>' of [gateway]"
};

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

std::string context(const FieldSpec& f) { return "key '" + f.name + "' of " + kHeader; }

void apply_thing(LoadContext& ctx, const toml::node& n, const ConfigValue& v, GatewaySettings& out) {
    const auto& thing = std::get<std::string>(v.data);
    if (valid_thing_name(thing)) {
        out.thing = thing;
        return;
    }
    ctx.error(pos_of(n), "key 'thing' of [gateway]: " + quote_text(thing) +
                             " is not a valid thing name; use 1 to 128 letters, digits, ':', '_' or '-'");
}

void apply_plugin_dirs(LoadContext& ctx, const toml::node& n, const ConfigValue& v, GatewaySettings& out) {
    const auto& dirs = std::get<std::vector<std::string>>(v.data);
    for (std::size_t i = 0; i < dirs.size(); ++i) {
        if (dirs[i].empty()) {
            ctx.error(pos_of(n), "key 'plugin_dirs' of [gateway]: entry " + std::to_string(i) + " is empty");
            continue;
        }
        // Relative to the file that wrote it, which may be an overlay.
        const toml::node* element = n.as_array()->get(i);
        out.plugin_dirs.emplace_back(resolve_path(ctx.base_dir_of(element->source()), dirs[i]));
    }
}

void apply_log_level(LoadContext&, const toml::node&, const ConfigValue& v, GatewaySettings& out) {
    for (const auto& l : kLevels)
        if (std::get<std::string>(v.data) == l.name) out.log_level = l.value;
}

void apply_stop_timeout(LoadContext&, const toml::node&, const ConfigValue& v, GatewaySettings& out) {
    out.stop_timeout_ms = std::get<int64_t>(v.data);
}

void apply_variables(LoadContext& ctx, const toml::node& n, const ConfigValue& v, GatewaySettings& out) {
    const toml::table* t = n.as_table();
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

GatewayField field(const char* name, iotgw_value_type type, const char* description, ApplyField apply) {
    GatewayField g;
    g.spec.name = name;
    g.spec.type = type;
    g.spec.description = description;
    g.apply = apply;
    return g;
}

// The schema of [gateway], in the order its keys are listed and checked.
const std::vector<GatewayField>& gateway_fields() {
    static const std::vector<GatewayField> fields = [] {
        std::vector<GatewayField> out;
        GatewayField thing = field("thing", IOTGW_TYPE_STRING, "the AWS IoT thing name", apply_thing);
        thing.spec.required = true;
        out.push_back(std::move(thing));
        out.push_back(field("plugin_dirs", IOTGW_TYPE_STRING_ARRAY,
                            "plugin directories searched before the defaults", apply_plugin_dirs));
        GatewayField level =
            field("log_level", IOTGW_TYPE_STRING, "the lowest level logged", apply_log_level);
        for (const auto& l : kLevels) level.spec.choices.emplace_back(l.name);
        out.push_back(std::move(level));
        GatewayField stop =
            field("stop_timeout", IOTGW_TYPE_DURATION, "how long instances get to stop", apply_stop_timeout);
        stop.spec.min = 100;
        stop.spec.max = 60'000;
        out.push_back(std::move(stop));
        GatewayField overlays = field("overlay_dir", IOTGW_TYPE_STRING,
                                      "a directory of *.toml overlays merged over this file", nullptr);
        overlays.main_file_only = true;
        out.push_back(std::move(overlays));
        GatewayField vars = field("variables", IOTGW_TYPE_STRING_MAP,
                                  "${name} values for the rest of the config", apply_variables);
        vars.context = "[gateway.variables]";
        out.push_back(std::move(vars));
        return out;
    }();
    return fields;
}

const GatewayField& gateway_field(std::string_view name) {
    const auto& fields = gateway_fields();
    return *std::find_if(fields.begin(), fields.end(),
                         [&](const GatewayField& g) { return g.spec.name == name; });
}

// The [gateway] table, or nullptr after reporting why there is none.
const toml::table* gateway_table(LoadContext& ctx, const toml::table& root) {
    const toml::node* node = root.get("gateway");
    if (node == nullptr) {
        SourcePos file_pos;
        file_pos.file = ctx.files.empty() ? std::string() : ctx.files.front();
        ctx.error(file_pos, "missing [gateway] table; it must set at least 'thing', the AWS IoT thing name");
        return nullptr;
    }
    const toml::table* gw = node->as_table();
    if (gw == nullptr) ctx.error(pos_of(*node), "'gateway' must be a table, found " + describe_node(*node));
    return gw;
}

void report_unknown_keys(LoadContext& ctx, const toml::table& gw) {
    std::vector<std::string> allowed;
    for (const auto& g : gateway_fields()) allowed.push_back(g.spec.name);
    for (const auto& e : ordered_entries(gw, ctx.files)) {
        std::string_view key = e.key->str();
        if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
            report_unknown_key(ctx, pos_of(*e.key, *e.node), key, kHeader, allowed);
    }
}

bool in_main_file(const LoadContext& ctx, const toml::node& n) {
    const auto& path = n.source().path;
    return ctx.files.empty() || !path || *path == ctx.files.front();
}

}  // namespace

std::optional<OverlayDir> read_overlay_dir(LoadContext& ctx, const toml::table& root,
                                           const std::string& main_display) {
    const toml::table* gw = root.get_as<toml::table>("gateway");
    const toml::node* n = gw != nullptr ? gw->get("overlay_dir") : nullptr;
    if (n == nullptr) return std::nullopt;
    const FieldSpec& f = gateway_field("overlay_dir").spec;
    ConfigValue v;
    if (!read_value(ctx, f, *n, context(f), v, true)) return std::nullopt;
    const auto& text = std::get<std::string>(v.data);
    if (text.empty()) {
        ctx.error(pos_of(*n), context(f) + ": the path is empty");
        return std::nullopt;
    }
    OverlayDir out;
    out.absolute = resolve_path(ctx.main_dir, text);
    std::filesystem::path shown(text);
    out.display =
        shown.is_absolute()
            ? shown.lexically_normal().string()
            : (std::filesystem::path(main_display).parent_path() / shown).lexically_normal().string();
    std::error_code ec;
    if (!std::filesystem::is_directory(out.absolute, ec)) {
        ctx.error(pos_of(*n), context(f) + ": directory '" + out.absolute.string() + "' does not exist");
        return std::nullopt;
    }
    return out;
}

void read_gateway(LoadContext& ctx, const toml::table& root, GatewaySettings& out) {
    const toml::table* gw = gateway_table(ctx, root);
    if (gw == nullptr) return;
    report_unknown_keys(ctx, *gw);

    for (const GatewayField& g : gateway_fields()) {
        const FieldSpec& f = g.spec;
        const toml::node* n = gw->get(f.name);
        if (n == nullptr) {
            if (f.required)
                ctx.error(pos_of(*gw), std::string(kHeader) + " is missing required key '" + f.name + "' (" +
                                           f.description + ")");
            continue;
        }
        if (g.main_file_only && !in_main_file(ctx, *n))
            ctx.error(pos_of(*n), f.name + " can only be set in the main config file, not in an overlay");
        if (g.apply == nullptr) continue;
        // Only ${env:...}: [gateway] is what defines the other variables.
        ConfigValue v;
        if (read_value(ctx, f, *n, g.context.empty() ? context(f) : g.context, v, true))
            g.apply(ctx, *n, v, out);
    }

    // ${thing} is always defined, even when the name was invalid, so that a wrong thing name
    // does not also produce an "unknown variable" error at every use.
    ctx.vars.set("thing", out.thing);
    out.variables["thing"] = out.thing;
}

}  // namespace iotgw::core::config_detail
