#include "value_check.hpp"

#include "text_util.hpp"
#include "toml_util.hpp"

#include <iotgw/core/duration.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>

namespace iotgw::core::config_detail {

namespace {

std::string expected(const FieldSpec& f, const toml::node& n) {
    return "expected " + describe_type(f) + ", found " + describe_node(n);
}

std::optional<std::string> read_strings(const FieldSpec& f, const toml::node& n,
                                        std::vector<std::string>& out) {
    const toml::array* a = n.as_array();
    if (a == nullptr) return expected(f, n);
    for (std::size_t i = 0; i < a->size(); ++i) {
        const toml::node& e = *a->get(i);
        if (!e.is_string())
            return "expected " + describe_type(f) + ", found " + describe_node(e) + " at index " +
                   std::to_string(i);
        out.push_back(e.as_string()->get());
    }
    return std::nullopt;
}

std::optional<std::string> count_in_bounds(const FieldSpec& f, std::size_t n, const char* what) {
    auto count = static_cast<double>(n);
    if (f.min && count < *f.min)
        return "has " + std::to_string(n) + " " + what + ", at least " + format_number(*f.min) + " required";
    if (f.max && count > *f.max)
        return "has " + std::to_string(n) + " " + what + ", at most " + format_number(*f.max) + " allowed";
    return std::nullopt;
}

std::optional<std::string> number_in_bounds(const FieldSpec& f, double v, const std::string& shown) {
    // Written as negations so NaN fails both bounds instead of passing them.
    if (f.min && !(v >= *f.min)) return shown + " is below the minimum " + format_number(*f.min);
    if (f.max && !(v <= *f.max)) return shown + " is above the maximum " + format_number(*f.max);
    return std::nullopt;
}

int64_t bound_ms(double v) {
    if (v >= 9.2e18) return INT64_MAX;
    if (v <= -9.2e18) return INT64_MIN;
    return std::llround(v);
}

}  // namespace

std::string format_number(double v) {
    if (std::isfinite(v) && std::trunc(v) == v && std::fabs(v) < 1e15)
        return std::to_string(static_cast<long long>(v));
    std::ostringstream s;
    s.precision(15);
    s << v;
    return s.str();
}

std::optional<std::string> read_raw(const FieldSpec& f, const toml::node& n, ConfigValue& out) {
    out.type = f.type;
    switch (f.type) {
        case IOTGW_TYPE_STRING:
        case IOTGW_TYPE_PATH:
        case IOTGW_TYPE_REF:
            if (!n.is_string()) return expected(f, n);
            out.data = n.as_string()->get();
            return std::nullopt;
        case IOTGW_TYPE_DURATION:
            if (n.is_integer() || n.is_floating_point())
                return "expected a duration string with a unit such as \"10s\", found " + describe_node(n);
            if (!n.is_string()) return expected(f, n);
            out.data = n.as_string()->get();
            return std::nullopt;
        case IOTGW_TYPE_INT:
            if (!n.is_integer()) return expected(f, n);
            out.data = n.as_integer()->get();
            return std::nullopt;
        case IOTGW_TYPE_FLOAT:
            if (n.is_integer()) {
                out.data = static_cast<double>(n.as_integer()->get());
                return std::nullopt;
            }
            if (!n.is_floating_point()) return expected(f, n);
            out.data = n.as_floating_point()->get();
            return std::nullopt;
        case IOTGW_TYPE_BOOL:
            if (!n.is_boolean()) return expected(f, n);
            out.data = n.as_boolean()->get();
            return std::nullopt;
        case IOTGW_TYPE_STRING_ARRAY:
        case IOTGW_TYPE_REF_ARRAY: {
            std::vector<std::string> items;
            if (auto err = read_strings(f, n, items)) return err;
            out.data = std::move(items);
            return std::nullopt;
        }
        case IOTGW_TYPE_STRING_MAP: {
            const toml::table* t = n.as_table();
            if (t == nullptr) return expected(f, n);
            StringMap map;
            // Declaration order, as the type promises; within one table that is source order.
            for (auto&& [k, v] : *t) {
                if (!v.is_string())
                    return "expected " + describe_type(f) + ", found " + describe_node(v) + " for key '" +
                           std::string(k.str()) + "'";
                map.emplace_back(std::string(k.str()), v.as_string()->get());
            }
            std::stable_sort(map.begin(), map.end(), [&](const auto& a, const auto& b) {
                const auto& ra = t->get(a.first)->source().begin;
                const auto& rb = t->get(b.first)->source().begin;
                return std::pair(ra.line, ra.column) < std::pair(rb.line, rb.column);
            });
            out.data = std::move(map);
            return std::nullopt;
        }
    }
    return "unsupported field type " + std::to_string(static_cast<int>(f.type));
}

std::optional<std::string> finish_value(const FieldSpec& f, ConfigValue& v) {
    switch (f.type) {
        case IOTGW_TYPE_DURATION: {
            if (const auto* text = std::get_if<std::string>(&v.data)) {
                auto ms = parse_duration_ms(*text);
                if (!ms)
                    return "invalid duration " + quote_text(*text, '"') +
                           ": expected numbers with units (ms, s, m, h, d) in descending order, such as "
                           "\"10s\", \"250ms\" or \"1m30s\"";
                v.data = *ms;
            }
            int64_t ms = std::get<int64_t>(v.data);
            if (f.min && ms < bound_ms(*f.min))
                return format_duration_ms(ms) + " is below the minimum " + format_duration_ms(bound_ms(*f.min));
            if (f.max && ms > bound_ms(*f.max))
                return format_duration_ms(ms) + " is above the maximum " + format_duration_ms(bound_ms(*f.max));
            return std::nullopt;
        }
        case IOTGW_TYPE_INT: {
            int64_t i = std::get<int64_t>(v.data);
            return number_in_bounds(f, static_cast<double>(i), std::to_string(i));
        }
        case IOTGW_TYPE_FLOAT: {
            double d = std::get<double>(v.data);
            return number_in_bounds(f, d, format_number(d));
        }
        case IOTGW_TYPE_STRING: {
            const auto& s = std::get<std::string>(v.data);
            if (!f.choices.empty() && std::find(f.choices.begin(), f.choices.end(), s) == f.choices.end())
                return quote_text(s) + " is not an allowed value" + did_you_mean(s, f.choices) +
                       "; allowed: " + join(f.choices);
            return std::nullopt;
        }
        case IOTGW_TYPE_STRING_ARRAY:
        case IOTGW_TYPE_REF_ARRAY:
            return count_in_bounds(f, std::get<std::vector<std::string>>(v.data).size(), "elements");
        case IOTGW_TYPE_STRING_MAP:
            return count_in_bounds(f, std::get<StringMap>(v.data).size(), "entries");
        case IOTGW_TYPE_BOOL:
        case IOTGW_TYPE_PATH:
        case IOTGW_TYPE_REF:
            return std::nullopt;
    }
    return std::nullopt;
}

std::optional<std::string> for_each_string(ConfigValue& v,
                                           const std::function<std::optional<std::string>(std::string&)>& fn) {
    if (auto* s = std::get_if<std::string>(&v.data)) return fn(*s);
    if (auto* a = std::get_if<std::vector<std::string>>(&v.data)) {
        for (auto& s : *a)
            if (auto err = fn(s)) return err;
    }
    if (auto* m = std::get_if<StringMap>(&v.data)) {
        for (auto& entry : *m)
            if (auto err = fn(entry.second)) return err;
    }
    return std::nullopt;
}

}  // namespace iotgw::core::config_detail
