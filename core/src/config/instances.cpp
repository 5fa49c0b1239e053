#include "instances.hpp"

#include "text_util.hpp"
#include "value_check.hpp"
#include "toml_util.hpp"

#include <iotgw/core/kinds.hpp>

#include <algorithm>
#include <memory>

namespace iotgw::core::config_detail {

namespace {

bool valid_instance_name(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

std::string available_plugins(const LoadContext& ctx, iotgw_kind kind) {
    std::vector<std::string> names;
    for (const LoadedPlugin* p : ctx.registry.plugins())
        if (p->kind == kind) names.push_back(p->name);
    return names.empty() ? std::string("none") : join(names);
}

std::string plugin_label(const LoadedPlugin& p) {
    return " of " + std::string(kind_name(p.kind)) + " plugin '" + p.name + "'";
}

void resolve_type(LoadContext& ctx, InstanceDraft& d) {
    InstanceConfig& i = d.config;
    const toml::node* n = d.table->get("type");
    if (n == nullptr) {
        ctx.error(i.where, header(i) + " is missing required key 'type' (which " + std::string(kind_name(i.kind)) +
                               " plugin to use; available: " + available_plugins(ctx, i.kind) + ")");
        return;
    }
    FieldSpec f;
    f.name = "type";
    ConfigValue v;
    if (!read_value(ctx, f, *n, "key 'type' of " + header(i), v)) return;
    i.type = std::get<std::string>(v.data);
    i.plugin = ctx.registry.find(i.kind, i.type);
    if (i.plugin != nullptr) return;
    std::string msg = "unknown " + std::string(kind_name(i.kind)) + " plugin type " + quote_text(i.type) + " for " +
                      header(i) + "; available " + std::string(kind_name(i.kind)) +
                      " plugins: " + available_plugins(ctx, i.kind);
    if (std::size_t failed = ctx.registry.failures().size(); failed > 0)
        msg += " (" + std::to_string(failed) + (failed == 1 ? " plugin library" : " plugin libraries") +
               " failed to load, see the warnings above)";
    ctx.error(pos_of(*n), msg);
}

void check_ref(LoadContext& ctx, const FieldSpec& f, const std::string& target, const SourcePos& where,
               const std::string& context, const InstanceIndex& index, InstanceConfig& owner) {
    auto it = index.find(target);
    if (it == index.end()) {
        std::vector<std::string> names;
        for (const auto& [name, draft] : index)
            if (f.ref_kind == 0 || static_cast<uint32_t>(draft->config.kind) == f.ref_kind) names.push_back(name);
        ctx.error(where, context + ": " + quote_text(target) + " is not a defined instance" + did_you_mean(target, names));
        return;
    }
    const InstanceConfig& t = it->second->config;
    if (f.ref_kind != 0 && static_cast<uint32_t>(t.kind) != f.ref_kind) {
        ctx.error(where, context + ": " + quote_text(target) + " is a " + std::string(kind_name(t.kind)) +
                             " instance (" + header(t) + "), expected a " +
                             std::string(kind_name(static_cast<iotgw_kind>(f.ref_kind))) + " instance");
        return;
    }
    if (std::find(owner.depends_on.begin(), owner.depends_on.end(), target) == owner.depends_on.end())
        owner.depends_on.push_back(target);
}

}  // namespace

std::string header(const InstanceConfig& i) { return "[" + std::string(kind_table(i.kind)) + "." + i.name + "]"; }

std::vector<InstanceDraft> collect_instances(LoadContext& ctx, const toml::table& root) {
    std::vector<InstanceDraft> drafts;
    for (iotgw_kind kind : all_kinds) {
        const toml::node* kn = root.get(kind_table(kind));
        if (kn == nullptr) continue;
        const toml::table* kt = kn->as_table();
        if (kt == nullptr) {
            ctx.error(pos_of(*kn), quote_text(kind_table(kind)) + " must be a table of " + std::string(kind_name(kind)) +
                                       " instances ([" + std::string(kind_table(kind)) + ".<name>]), found " +
                                       describe_node(*kn));
            continue;
        }
        for (const auto& e : ordered_entries(*kt, ctx.files)) {
            InstanceDraft d;
            d.config.name = std::string(e.key->str());
            d.config.kind = kind;
            d.config.where = pos_of(*e.node);
            if (!valid_instance_name(d.config.name)) {
                ctx.error(pos_of(*e.key, *e.node), "invalid instance name " + quote_text(d.config.name) + " in [" +
                                                       std::string(kind_table(kind)) +
                                                       "]; use only letters, digits, '_' and '-'");
                continue;
            }
            d.table = e.node->as_table();
            if (d.table == nullptr) {
                ctx.error(pos_of(*e.node), header(d.config) + " must be a table, found " + describe_node(*e.node));
                continue;
            }
            drafts.push_back(std::move(d));
        }
    }
    std::stable_sort(drafts.begin(), drafts.end(), [&](const InstanceDraft& a, const InstanceDraft& b) {
        return written_before(a.table->source(), b.table->source(), ctx.files);
    });
    std::vector<InstanceDraft> unique;
    for (auto& d : drafts) {
        auto first = std::find_if(unique.begin(), unique.end(),
                                  [&](const InstanceDraft& u) { return u.config.name == d.config.name; });
        if (first != unique.end()) {
            ctx.error(d.config.where, "instance name " + quote_text(d.config.name) + " is used twice: " +
                                          header(first->config) + " (" + place(first->config.where) + ") and " +
                                          header(d.config) + " (" + place(d.config.where) +
                                          "); instance names must be unique across all kinds");
            continue;
        }
        d.order = unique.size();
        unique.push_back(std::move(d));
    }
    for (auto& d : unique) resolve_type(ctx, d);
    return unique;
}

void validate_instance(LoadContext& ctx, InstanceDraft& draft, const InstanceIndex& index) {
    InstanceConfig& inst = draft.config;
    inst.config = std::make_shared<iotgw_config>();
    const LoadedPlugin* plugin = inst.plugin;
    if (plugin == nullptr) return;

    for (const auto& e : ordered_entries(*draft.table, ctx.files)) {
        std::string_view key = e.key->str();
        if (key == "type") continue;
        const FieldSpec* f = plugin->field(key);
        if (f == nullptr) {
            std::vector<std::string> allowed{"type"};
            for (const auto& field : plugin->fields) allowed.push_back(field.name);
            report_unknown_key(ctx, pos_of(*e.key, *e.node), key, header(inst), allowed, plugin_label(*plugin));
            continue;
        }
        const std::string context = "key '" + f->name + "' of " + header(inst);
        ConfigValue v;
        if (!read_value(ctx, *f, *e.node, context, v)) continue;
        if (f->type == IOTGW_TYPE_REF) {
            check_ref(ctx, *f, std::get<std::string>(v.data), v.where, context, index, inst);
        } else if (f->type == IOTGW_TYPE_REF_ARRAY) {
            const auto& names = std::get<std::vector<std::string>>(v.data);
            const toml::array& a = *e.node->as_array();
            for (std::size_t i = 0; i < names.size(); ++i) check_ref(ctx, *f, names[i], pos_of(*a.get(i)), context, index, inst);
        }
        inst.config->values.emplace(f->name, std::move(v));
    }

    for (const FieldSpec& f : plugin->fields) {
        if (inst.config->values.count(f.name) != 0 || draft.table->get(f.name) != nullptr) continue;
        if (f.required) {
            ctx.error(inst.where, header(inst) + " is missing required key '" + f.name + "' (" + describe_type(f) + ")");
            continue;
        }
        if (!f.default_value) continue;
        // Defaults are strings like any other: ${variables} apply, paths resolve against the
        // main file, references must exist. Errors point at the instance header.
        ConfigValue v = *f.default_value;
        const std::string context = "default of key '" + f.name + "' of " + header(inst);
        if (auto err = for_each_string(v, [&](std::string& s) { return ctx.vars.substitute(s); })) {
            ctx.error(inst.where, context + ": " + *err);
            continue;
        }
        if (f.type == IOTGW_TYPE_PATH) std::get<std::string>(v.data) = resolve_path(ctx.main_dir, std::get<std::string>(v.data));
        if (f.type == IOTGW_TYPE_REF) check_ref(ctx, f, std::get<std::string>(v.data), inst.where, context, index, inst);
        if (f.type == IOTGW_TYPE_REF_ARRAY)
            for (const auto& name : std::get<std::vector<std::string>>(v.data))
                check_ref(ctx, f, name, inst.where, context, index, inst);
        v.where = SourcePos{};
        inst.config->values.emplace(f.name, std::move(v));
    }
}

}  // namespace iotgw::core::config_detail
