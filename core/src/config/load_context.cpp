#include "load_context.hpp"

#include "text_util.hpp"
#include "toml_util.hpp"
#include "value_check.hpp"

namespace iotgw::core::config_detail {

std::filesystem::path LoadContext::base_dir_of(const toml::source_region& r) const {
    if (r.path) {
        auto it = base_dirs.find(*r.path);
        if (it != base_dirs.end()) return it->second;
    }
    return main_dir;
}

std::string resolve_path(const std::filesystem::path& base, const std::string& value) {
    std::filesystem::path p(value);
    if (p.is_relative()) p = base / p;
    return p.lexically_normal().string();
}

bool read_value(LoadContext& ctx, const FieldSpec& f, const toml::node& n, const std::string& context,
                ConfigValue& out, bool env_only) {
    SourcePos where = pos_of(n);
    auto fail = [&](const std::string& why) {
        ctx.error(where, context + ": " + why);
        return false;
    };
    if (auto err = read_raw(f, n, out)) return fail(*err);
    if (auto err = for_each_string(out, [&](std::string& s) { return ctx.vars.substitute(s, env_only); }))
        return fail(*err);
    if (auto err = finish_value(f, out)) return fail(*err);
    if (f.type == IOTGW_TYPE_PATH) {
        auto& s = std::get<std::string>(out.data);
        if (s.empty()) return fail("the path is empty");
        s = resolve_path(ctx.base_dir_of(n.source()), s);
    }
    out.where = where;
    return true;
}

void report_unknown_key(LoadContext& ctx, const SourcePos& pos, std::string_view key, const std::string& where,
                        const std::vector<std::string>& allowed, const std::string& label) {
    ctx.error(pos, "unknown key " + quote_text(key) + " in " + where + did_you_mean(key, allowed) + "; allowed keys" +
                       label + ": " + join(allowed));
}

}  // namespace iotgw::core::config_detail
