// A plugin's config schema, copied out of its descriptor into C++ form once at load time (the
// descriptor's field struct may be shorter or longer than ours, see config_field_size).
#pragma once

#include <iotgw/core/config_value.hpp>
#include <iotgw/plugin_abi.h>

#include <optional>
#include <string>
#include <vector>

namespace iotgw::core {

struct FieldSpec {
    std::string name;
    iotgw_value_type type = IOTGW_TYPE_STRING;
    bool required = false;
    bool secret = false;
    std::optional<double> min;
    std::optional<double> max;
    std::vector<std::string> choices;  // empty: any value
    uint32_t ref_kind = 0;             // iotgw_kind, 0: any
    std::string description;
    std::string default_literal;       // TOML text as declared; empty: no default
    std::optional<ConfigValue> default_value;  // parsed and type-checked at load time
};

// "string", "integer", "duration (e.g. \"10s\")", "array of strings", "reference to a connection"...
std::string describe_type(const FieldSpec& f);

// Copy the descriptor's schema. Returns an error text if the schema itself is malformed
// (duplicate or empty field name, unknown type, default that is not valid TOML or not of the
// field's type); the plugin is then refused at load time, not at the first config using it.
std::optional<std::string> read_schema(const iotgw_plugin_descriptor& d, std::vector<FieldSpec>& out);

}  // namespace iotgw::core
