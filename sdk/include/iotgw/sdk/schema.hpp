// Builders for a plugin's config schema, so a schema reads as a table:
//   constexpr iotgw_config_field kFields[] = {
//       iotgw::sdk::Field::duration("window", "how long a repeat is suppressed").with_default("\"10s\""),
//       iotgw::sdk::Field::string("topic", "topic to watch").required(),
//   };
#pragma once

#include <iotgw/plugin_abi.h>

#include <cstdint>

// Not "namespace iotgw::sdk": GCC rejects attributes on a nested namespace definition.
namespace iotgw {
namespace [[gnu::visibility("hidden")]] sdk {

struct Field : iotgw_config_field {
    constexpr Field(const char* field_name, iotgw_value_type field_type, const char* text) noexcept
        : iotgw_config_field{field_name, static_cast<uint32_t>(field_type), 0u, nullptr, text,
                             0.0, 0.0, nullptr, 0u, 0u} {}

    static constexpr Field string(const char* n, const char* d) { return {n, IOTGW_TYPE_STRING, d}; }
    static constexpr Field integer(const char* n, const char* d) { return {n, IOTGW_TYPE_INT, d}; }
    static constexpr Field number(const char* n, const char* d) { return {n, IOTGW_TYPE_FLOAT, d}; }
    static constexpr Field boolean(const char* n, const char* d) { return {n, IOTGW_TYPE_BOOL, d}; }
    static constexpr Field duration(const char* n, const char* d) { return {n, IOTGW_TYPE_DURATION, d}; }
    static constexpr Field strings(const char* n, const char* d) { return {n, IOTGW_TYPE_STRING_ARRAY, d}; }
    static constexpr Field path(const char* n, const char* d) { return {n, IOTGW_TYPE_PATH, d}; }
    static constexpr Field map(const char* n, const char* d) { return {n, IOTGW_TYPE_STRING_MAP, d}; }
    static constexpr Field ref(const char* n, iotgw_kind k, const char* d) {
        Field f{n, IOTGW_TYPE_REF, d};
        f.ref_kind = static_cast<uint32_t>(k);
        return f;
    }
    static constexpr Field refs(const char* n, iotgw_kind k, const char* d) {
        Field f{n, IOTGW_TYPE_REF_ARRAY, d};
        f.ref_kind = static_cast<uint32_t>(k);
        return f;
    }

    constexpr Field required() const {
        Field f = *this;
        f.flags |= IOTGW_FIELD_REQUIRED;
        return f;
    }
    constexpr Field secret() const {
        Field f = *this;
        f.flags |= IOTGW_FIELD_SECRET;
        return f;
    }
    // `toml_literal` is TOML value syntax: "10", "\"text\"", "true", "\"5s\"", "[\"a\", \"b\"]".
    constexpr Field with_default(const char* toml_literal) const {
        Field f = *this;
        f.default_value = toml_literal;
        return f;
    }
    // Inclusive bounds: the value for INT/FLOAT, milliseconds for DURATION, the element count
    // for arrays.
    constexpr Field at_least(double v) const {
        Field f = *this;
        f.flags |= IOTGW_FIELD_HAS_MIN;
        f.min = v;
        return f;
    }
    constexpr Field at_most(double v) const {
        Field f = *this;
        f.flags |= IOTGW_FIELD_HAS_MAX;
        f.max = v;
        return f;
    }
    // Allowed values of a STRING, separated by '|': "info|debug".
    constexpr Field one_of(const char* choices_pipe_separated) const {
        Field f = *this;
        f.choices = choices_pipe_separated;
        return f;
    }
};

}  // namespace sdk
}  // namespace iotgw
