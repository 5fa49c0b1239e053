#include "toml_util.hpp"

#include "text_util.hpp"

#include <algorithm>
#include <sstream>
#include <tuple>

namespace iotgw::core::config_detail {

std::optional<toml::table> parse_toml(std::string_view text, const std::string& display_path,
                                      Diagnostics& diags) {
    auto report = [&](const toml::parse_error& e) {
        SourcePos where = pos_of(e.source());
        where.file = display_path;
        diags.error(std::move(where), std::string(e.description()));
    };
#if TOML_EXCEPTIONS
    try {
        return toml::parse(text, display_path);
    } catch (const toml::parse_error& e) {
        report(e);
        return std::nullopt;
    }
#else
    toml::parse_result result = toml::parse(text, display_path);
    if (!result) {
        report(result.error());
        return std::nullopt;
    }
    return std::move(result).table();
#endif
}

SourcePos pos_of(const toml::source_region& region) {
    SourcePos p;
    if (region.path) p.file = *region.path;
    p.line = region.begin.line;
    p.column = region.begin.column;
    return p;
}

SourcePos pos_of(const toml::key& k, const toml::node& value) {
    // After an overlay replaced a value, the key object is still the main file's: then the
    // value's position is the one that names the right file.
    const auto& ks = k.source();
    const auto& vs = value.source();
    bool same_file = (!ks.path && !vs.path) || (ks.path && vs.path && *ks.path == *vs.path);
    if (ks.begin.line > 0 && same_file) return pos_of(ks);
    return pos_of(vs);
}

std::string place(const SourcePos& p) {
    SourcePos q = p;
    q.column = 0;
    return q.str();
}

std::string describe_node(const toml::node& n) {
    switch (n.type()) {
        case toml::node_type::string: return "string " + quote_text(n.as_string()->get(), '"');
        case toml::node_type::integer: return "integer " + std::to_string(n.as_integer()->get());
        case toml::node_type::floating_point: {
            std::ostringstream s;
            s << *n.as_floating_point();
            return "float " + s.str();
        }
        case toml::node_type::boolean: return n.as_boolean()->get() ? "boolean true" : "boolean false";
        case toml::node_type::array: return "array";
        case toml::node_type::table: return "table";
        case toml::node_type::date: return "date";
        case toml::node_type::time: return "time";
        case toml::node_type::date_time: return "date-time";
        case toml::node_type::none: break;
    }
    return "nothing";
}

std::size_t file_rank(const toml::source_region& r, const std::vector<std::string>& files) {
    if (!r.path) return files.size();
    auto it = std::find(files.begin(), files.end(), *r.path);
    return static_cast<std::size_t>(it - files.begin());
}

bool written_before(const toml::source_region& a, const toml::source_region& b,
                    const std::vector<std::string>& files) {
    return std::tuple(file_rank(a, files), a.begin.line, a.begin.column) <
           std::tuple(file_rank(b, files), b.begin.line, b.begin.column);
}

std::vector<Entry> ordered_entries(const toml::table& t, const std::vector<std::string>& files) {
    std::vector<Entry> out;
    for (auto&& [k, v] : t) out.push_back({&k, &v});
    std::stable_sort(out.begin(), out.end(), [&](const Entry& a, const Entry& b) {
        return written_before(a.node->source(), b.node->source(), files);
    });
    return out;
}

}  // namespace iotgw::core::config_detail
