#include <iotgw/core/field_spec.hpp>
#include <iotgw/core/kinds.hpp>

#include "value_check.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

namespace iotgw::core {

namespace {

using config_detail::finish_value;
using config_detail::read_raw;

bool is_known_type(uint32_t t) noexcept { return t >= IOTGW_TYPE_STRING && t <= IOTGW_TYPE_STRING_MAP; }

bool valid_field_name(std::string_view n) noexcept {
    return !n.empty() && std::all_of(n.begin(), n.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

bool has_bounds(iotgw_value_type t) noexcept {
    switch (t) {
        case IOTGW_TYPE_INT:
        case IOTGW_TYPE_FLOAT:
        case IOTGW_TYPE_DURATION:
        case IOTGW_TYPE_STRING_ARRAY:
        case IOTGW_TYPE_REF_ARRAY:
        case IOTGW_TYPE_STRING_MAP: return true;
        default: return false;
    }
}

std::vector<std::string> split_choices(std::string_view s) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (true) {
        std::size_t bar = s.find('|', start);
        out.emplace_back(s.substr(start, bar == std::string_view::npos ? std::string_view::npos : bar - start));
        if (bar == std::string_view::npos) break;
        start = bar + 1;
    }
    return out;
}

// Parses and checks a default literal; an error is a sentence fragment about the literal.
std::optional<std::string> read_default(FieldSpec& f) {
    std::string doc = "v = " + f.default_literal;
    std::optional<toml::table> t;
#if TOML_EXCEPTIONS
    try {
        t = toml::parse(doc);
    } catch (const toml::parse_error& e) {
        return "is not a TOML value (" + std::string(e.description()) + ")";
    }
#else
    toml::parse_result r = toml::parse(doc);
    if (!r) return "is not a TOML value (" + std::string(r.error().description()) + ")";
    t = std::move(r).table();
#endif
    // "v = 1\nw = 2" parses, but is not one value.
    const toml::node* n = t->get("v");
    if (t->size() != 1 || n == nullptr) return "is not a single TOML value";
    ConfigValue v;
    if (auto err = read_raw(f, *n, v)) return "does not fit the field: " + *err;
    if (auto err = finish_value(f, v)) return "does not fit the field: " + *err;
    f.default_value = std::move(v);
    return std::nullopt;
}

}  // namespace

std::string describe_type(const FieldSpec& f) {
    auto kind = [&](bool plural) {
        if (!is_valid_kind(f.ref_kind)) return std::string(plural ? "instances" : "an instance");
        std::string k(kind_name(static_cast<iotgw_kind>(f.ref_kind)));
        return plural ? k + " instances" : "a " + k + " instance";
    };
    switch (f.type) {
        case IOTGW_TYPE_STRING: return "string";
        case IOTGW_TYPE_INT: return "integer";
        case IOTGW_TYPE_FLOAT: return "float";
        case IOTGW_TYPE_BOOL: return "boolean";
        case IOTGW_TYPE_DURATION: return "duration (e.g. \"10s\")";
        case IOTGW_TYPE_STRING_ARRAY: return "array of strings";
        case IOTGW_TYPE_REF: return "reference to " + kind(false);
        case IOTGW_TYPE_REF_ARRAY: return "array of references to " + kind(true);
        case IOTGW_TYPE_PATH: return "path";
        case IOTGW_TYPE_STRING_MAP: return "table of strings";
    }
    return "unknown type";
}

std::optional<std::string> read_schema(const iotgw_plugin_descriptor& d, std::vector<FieldSpec>& out) {
    out.clear();
    if (d.config_field_count == 0) return std::nullopt;
    if (d.config_fields == nullptr)
        return "the plugin declares " + std::to_string(d.config_field_count) +
               " config fields but config_fields is NULL";
    if (d.config_field_size == 0) return std::string("the plugin's config_field_size is 0");

    std::set<std::string, std::less<>> seen;
    const auto* bytes = reinterpret_cast<const unsigned char*>(d.config_fields);
    // A plugin built against another ABI minor may have a shorter or longer field struct: read
    // what both know, leave the rest zero.
    const std::size_t copy = std::min<std::size_t>(d.config_field_size, sizeof(iotgw_config_field));
    for (uint32_t i = 0; i < d.config_field_count; ++i) {
        iotgw_config_field raw{};
        std::memcpy(&raw, bytes + static_cast<std::size_t>(i) * d.config_field_size, copy);
        const std::string index = "config field #" + std::to_string(i + 1);
        if (raw.name == nullptr) return index + " has no name (NULL)";
        FieldSpec f;
        f.name = raw.name;
        const std::string which = "config field '" + f.name + "'";
        if (f.name.empty()) return index + " has an empty name";
        if (!valid_field_name(f.name))
            return which + " has an invalid name: use only lower-case letters, digits and '_'";
        if (f.name == "type") return which + " uses the reserved name 'type' (it selects the plugin)";
        if (!seen.insert(f.name).second) return which + " is declared twice";
        if (!is_known_type(raw.type)) return which + " has unknown type " + std::to_string(raw.type);
        f.type = static_cast<iotgw_value_type>(raw.type);
        f.required = (raw.flags & IOTGW_FIELD_REQUIRED) != 0;
        f.secret = (raw.flags & IOTGW_FIELD_SECRET) != 0;
        if ((raw.flags & (IOTGW_FIELD_HAS_MIN | IOTGW_FIELD_HAS_MAX)) != 0 && !has_bounds(f.type))
            return which + " has a minimum or maximum, but a " + describe_type(f) + " has no bounds";
        if ((raw.flags & IOTGW_FIELD_HAS_MIN) != 0) {
            if (std::isnan(raw.min)) return which + " has a minimum that is not a number";
            f.min = raw.min;
        }
        if ((raw.flags & IOTGW_FIELD_HAS_MAX) != 0) {
            if (std::isnan(raw.max)) return which + " has a maximum that is not a number";
            f.max = raw.max;
        }
        if (f.min && f.max && *f.min > *f.max)
            return which + " has a minimum greater than its maximum";
        if (raw.choices != nullptr) {
            if (f.type != IOTGW_TYPE_STRING)
                return which + " has choices, but only string fields can have them (it is a " +
                       describe_type(f) + ")";
            f.choices = split_choices(raw.choices);
            for (const auto& c : f.choices)
                if (c.empty()) return which + " has an empty choice in \"" + std::string(raw.choices) + "\"";
        }
        if (f.type == IOTGW_TYPE_REF || f.type == IOTGW_TYPE_REF_ARRAY) {
            if (raw.ref_kind != 0 && !is_valid_kind(raw.ref_kind))
                return which + " refers to unknown kind " + std::to_string(raw.ref_kind);
            f.ref_kind = raw.ref_kind;
        }
        if (raw.description != nullptr) f.description = raw.description;
        if (raw.default_value != nullptr) {
            f.default_literal = raw.default_value;
            if (f.required)
                return which + " is required and also has a default; a required field cannot have one";
            if (f.default_literal.empty()) return which + " has an empty default; use NULL for none";
            if (auto err = read_default(f)) return which + ": its default " + f.default_literal + " " + *err;
        }
        out.push_back(std::move(f));
    }
    return std::nullopt;
}

}  // namespace iotgw::core
