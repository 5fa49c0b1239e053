// The validated configuration the runtime is built from: produced only by ConfigLoader, so the
// runtime never sees a dangling reference, an unknown key or a value of the wrong type.
#pragma once

#include <iotgw/core/config_value.hpp>
#include <iotgw/core/diagnostics.hpp>
#include <iotgw/core/plugin_registry.hpp>
#include <iotgw/plugin_abi.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace iotgw::core {

struct GatewaySettings {
    std::string thing;                              // [gateway] thing
    std::vector<std::filesystem::path> plugin_dirs; // configured dirs, then the defaults
    int log_level = IOTGW_LOG_INFO;                 // [gateway] log_level
    int64_t stop_timeout_ms = 5000;                 // [gateway] stop_timeout
    std::map<std::string, std::string> variables;   // [gateway.variables], plus "thing"
};

struct InstanceConfig {
    std::string name;  // unique across all kinds
    iotgw_kind kind = IOTGW_KIND_SOURCE;
    std::string type;  // plugin name
    const LoadedPlugin* plugin = nullptr;
    // Shared so a Gateway can keep the handle it gave the plugin alive as long as the instance.
    std::shared_ptr<iotgw_config> config;
    std::vector<std::string> depends_on;  // instance names referenced by REF/REF_ARRAY fields
    SourcePos where;                      // the [kind.name] header
};

// A "name" or "name:address" reference in a pipeline, resolved to its instance.
struct EndpointRef {
    std::string instance;
    std::string address;  // empty: the instance itself, not one of its endpoints
    SourcePos where;
    std::string text() const { return address.empty() ? instance : instance + ":" + address; }
};

struct PipelineConfig {
    std::string name;
    EndpointRef from;
    std::vector<EndpointRef> via;  // processors, in order
    std::vector<EndpointRef> to;   // fan-out targets
    SourcePos where;
};

struct GatewayConfig {
    std::filesystem::path file;                     // the main config file
    std::vector<std::filesystem::path> overlays;    // conf.d files applied, in order
    GatewaySettings gateway;
    std::vector<InstanceConfig> instances;          // in start order (dependencies first)
    std::vector<PipelineConfig> pipelines;

    const InstanceConfig* instance(const std::string& name) const noexcept;
};

}  // namespace iotgw::core
