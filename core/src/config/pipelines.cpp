#include "pipelines.hpp"

#include "text_util.hpp"
#include "toml_util.hpp"
#include "value_check.hpp"

#include <iotgw/core/kinds.hpp>

#include <algorithm>

namespace iotgw::core::config_detail {

namespace {

const std::vector<std::string>& pipeline_keys() {
    static const std::vector<std::string> keys{"name", "from", "via", "to"};
    return keys;
}

bool valid_pipeline_name(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
               c == '.' || c == '-';
    });
}

class PipelineReader {
public:
    PipelineReader(LoadContext& ctx, const InstanceIndex& index, std::set<std::string, std::less<>>& used)
        : ctx_(ctx), index_(index), used_(used) {}

    std::optional<PipelineConfig> read(const toml::table& t, std::size_t number,
                                       std::vector<PipelineConfig>& done) {
        label_ = "pipeline #" + std::to_string(number);
        ok_ = true;
        PipelineConfig p;
        p.where = pos_of(t);

        // The name comes first so that every later message can use it.
        if (const toml::node* n = t.get("name")) {
            ConfigValue v;
            if (read_value(ctx_, string_spec("name"), *n, label_ + ": key 'name'", v)) {
                p.name = std::get<std::string>(v.data);
                if (!valid_pipeline_name(p.name)) {
                    fail(pos_of(*n), "invalid pipeline name " + quote_text(p.name) +
                                         "; use only letters, digits, '_', '.' and '-'");
                } else {
                    label_ = "pipeline " + quote_text(p.name);
                    auto first = std::find_if(done.begin(), done.end(),
                                              [&](const PipelineConfig& d) { return d.name == p.name; });
                    if (first != done.end())
                        fail(pos_of(*n), "pipeline name " + quote_text(p.name) + " is used twice (first at " +
                                             place(first->where) + ")");
                }
            } else {
                ok_ = false;
            }
        } else {
            fail(p.where, label_ + " is missing required key 'name'");
        }

        for (const auto& e : ordered_entries(t, ctx_.files)) {
            std::string_view key = e.key->str();
            if (std::find(pipeline_keys().begin(), pipeline_keys().end(), key) == pipeline_keys().end()) {
                report_unknown_key(ctx_, pos_of(*e.key, *e.node), key, label_, pipeline_keys());
                ok_ = false;
            }
        }

        if (const toml::node* n = t.get("from")) {
            if (auto refs = read_refs(*n, "from", false)) {
                p.from = (*refs)[0];
                check_from(p.from);
            }
        } else {
            fail(p.where, label_ + " is missing required key 'from'");
        }

        if (const toml::node* n = t.get("via")) {
            if (auto refs = read_refs(*n, "via", true)) {
                p.via = std::move(*refs);
                for (const auto& r : p.via) check_via(r);
            }
        }

        if (const toml::node* n = t.get("to")) {
            if (auto refs = read_refs(*n, "to", true)) {
                p.to = std::move(*refs);
                if (p.to.empty()) fail(pos_of(*n), label_ + ": 'to' must list at least one target");
                for (const auto& r : p.to) check_to(r);
            }
        } else {
            fail(p.where, label_ + " is missing required key 'to'");
        }
        if (!ok_) return std::nullopt;
        return p;
    }

private:
    static FieldSpec string_spec(const char* name, iotgw_value_type type = IOTGW_TYPE_STRING) {
        FieldSpec f;
        f.name = name;
        f.type = type;
        return f;
    }

    void fail(const SourcePos& where, std::string message) {
        ctx_.error(where, std::move(message));
        ok_ = false;
    }

    // Reads a string (or array of strings when `array`), substitutes variables, and resolves each
    // "name[:address]" to a defined instance.
    std::optional<std::vector<EndpointRef>> read_refs(const toml::node& n, const char* key, bool array) {
        ConfigValue v;
        const std::string context = label_ + ": key '" + key + "'";
        if (!read_value(ctx_, string_spec(key, array ? IOTGW_TYPE_STRING_ARRAY : IOTGW_TYPE_STRING), n, context, v)) {
            ok_ = false;
            return std::nullopt;
        }
        std::vector<std::pair<std::string, SourcePos>> texts;
        if (array) {
            const auto& items = std::get<std::vector<std::string>>(v.data);
            for (std::size_t i = 0; i < items.size(); ++i) texts.emplace_back(items[i], pos_of(*n.as_array()->get(i)));
        } else {
            texts.emplace_back(std::get<std::string>(v.data), pos_of(n));
        }
        std::vector<EndpointRef> out;
        bool all_defined = true;
        for (auto& [text, where] : texts) {
            EndpointRef r;
            r.where = where;
            auto colon = text.find(':');
            r.instance = text.substr(0, colon);
            if (colon != std::string::npos) {
                r.address = text.substr(colon + 1);
                if (r.address.empty()) {
                    fail(where, label_ + ": '" + key + "' entry " + quote_text(text) + " has an empty address");
                    all_defined = false;
                    continue;
                }
            }
            if (index_.find(r.instance) == index_.end()) {
                std::vector<std::string> names;
                for (const auto& [name, draft] : index_) names.push_back(name);
                fail(where, label_ + ": '" + key + "' refers to " + quote_text(r.instance) + ", which is not defined" +
                                did_you_mean(r.instance, names));
                all_defined = false;
                continue;
            }
            used_.insert(r.instance);
            out.push_back(std::move(r));
        }
        if (!all_defined) return std::nullopt;
        return out;
    }

    const InstanceConfig& instance(const EndpointRef& r) const { return index_.find(r.instance)->second->config; }

    static std::string what(const InstanceConfig& i) {
        return quote_text(i.name) + ", a " + std::string(kind_name(i.kind)) + " instance";
    }

    static std::string plugin_of(const InstanceConfig& i) {
        return "the " + std::string(kind_name(i.kind)) + " plugin " + quote_text(i.type);
    }

    void check_address(const EndpointRef& r, const std::string& role) {
        const InstanceConfig& i = instance(r);
        if (i.plugin == nullptr || i.plugin->descriptor == nullptr) return;  // unknown type: reported
        if (i.plugin->descriptor->open_endpoint == nullptr)
            fail(r.where, label_ + ": " + role + " gives an address to " + quote_text(i.name) + ", but " + plugin_of(i) +
                              " has no addressable endpoints");
    }

    void check_from(const EndpointRef& r) {
        const InstanceConfig& i = instance(r);
        if (!r.address.empty()) {
            check_address(r, "'from'");
        } else if (i.kind == IOTGW_KIND_CONNECTION) {
            fail(r.where, label_ + ": 'from' names the connection " + quote_text(i.name) +
                              " without an address; write \"" + i.name + ":<address>\", e.g. with an MQTT topic filter");
        } else if (i.kind != IOTGW_KIND_SOURCE) {
            fail(r.where, label_ + ": 'from' is " + what(i) +
                              "; 'from' must be a source, or \"name:address\" of an instance with endpoints such as "
                              "a connection");
        }
    }

    void check_via(const EndpointRef& r) {
        const InstanceConfig& i = instance(r);
        if (i.kind != IOTGW_KIND_PROCESSOR) {
            fail(r.where, label_ + ": 'via' entry " + quote_text(r.text()) + " is " + what(i) +
                              "; 'via' lists processors only");
        } else if (!r.address.empty()) {
            fail(r.where, label_ + ": 'via' entry " + quote_text(r.text()) +
                              " has an address; processors are named without one");
        }
    }

    void check_to(const EndpointRef& r) {
        const InstanceConfig& i = instance(r);
        if (i.plugin == nullptr || i.plugin->descriptor == nullptr) return;
        if (i.plugin->descriptor->on_message == nullptr) {
            fail(r.where, label_ + ": 'to' entry " + quote_text(r.text()) + " is " + what(i) + " and " + plugin_of(i) +
                              " does not accept messages");
        } else if (!r.address.empty()) {
            check_address(r, "'to' entry " + quote_text(r.text()));
        }
    }

    LoadContext& ctx_;
    const InstanceIndex& index_;
    std::set<std::string, std::less<>>& used_;
    std::string label_;
    bool ok_ = true;
};

}  // namespace

std::vector<PipelineConfig> read_pipelines(LoadContext& ctx, const toml::table& root, const InstanceIndex& index,
                                           std::set<std::string, std::less<>>& used) {
    std::vector<PipelineConfig> out;
    const toml::node* n = root.get("pipelines");
    if (n == nullptr) return out;
    const toml::array* a = n->as_array();
    if (a == nullptr) {
        ctx.error(pos_of(*n), "'pipelines' must be an array of tables ([[pipelines]]), found " + describe_node(*n));
        return out;
    }
    PipelineReader reader(ctx, index, used);
    // Names of failed pipelines still count for "used twice".
    std::vector<PipelineConfig> seen;
    for (std::size_t i = 0; i < a->size(); ++i) {
        const toml::node& e = *a->get(i);
        const toml::table* t = e.as_table();
        if (t == nullptr) {
            ctx.error(pos_of(e), "pipeline #" + std::to_string(i + 1) + " must be a table ([[pipelines]]), found " +
                                     describe_node(e));
            continue;
        }
        auto p = reader.read(*t, i + 1, seen);
        if (const toml::node* name = t->get("name"); name != nullptr && name->is_string()) {
            PipelineConfig marker;
            marker.name = name->as_string()->get();
            marker.where = pos_of(*t);
            if (p) marker.name = p->name;
            seen.push_back(std::move(marker));
        }
        if (p) out.push_back(std::move(*p));
    }
    return out;
}

}  // namespace iotgw::core::config_detail
