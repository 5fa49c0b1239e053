// A validated configuration value and the per-instance value set that stands behind the
// opaque iotgw_config handle plugins read through the host API.
#pragma once

#include <iotgw/core/diagnostics.hpp>
#include <iotgw/plugin_abi.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace iotgw::core {

using StringMap = std::vector<std::pair<std::string, std::string>>;  // declaration order

struct ConfigValue {
    // STRING, PATH (absolute after resolution), REF: std::string; INT and DURATION (ms): int64_t;
    // FLOAT: double; BOOL: bool; STRING_ARRAY, REF_ARRAY: vector<string>; STRING_MAP: StringMap.
    iotgw_value_type type = IOTGW_TYPE_STRING;
    std::variant<std::string, int64_t, double, bool, std::vector<std::string>, StringMap> data;
    SourcePos where;  // where it was set; empty for defaults
};

}  // namespace iotgw::core

// The host's side of the opaque handle: the validated values of one plugin instance.
struct iotgw_config {
    std::map<std::string, iotgw::core::ConfigValue, std::less<>> values;
};

namespace iotgw::core {
// The host-API config accessors (they fill the iotgw_host_api table).
int config_string(const iotgw_config* cfg, const char* key, const char** out, size_t* len);
int config_int(const iotgw_config* cfg, const char* key, int64_t* out);
int config_double(const iotgw_config* cfg, const char* key, double* out);
int config_bool(const iotgw_config* cfg, const char* key, int* out);
int config_duration_ms(const iotgw_config* cfg, const char* key, int64_t* out);
int config_array_size(const iotgw_config* cfg, const char* key, size_t* out);
int config_array_string(const iotgw_config* cfg, const char* key, size_t index, const char** out, size_t* len);
int config_map_size(const iotgw_config* cfg, const char* key, size_t* out);
int config_map_entry(const iotgw_config* cfg, const char* key, size_t index, const char** map_key,
                     const char** value);
}  // namespace iotgw::core
