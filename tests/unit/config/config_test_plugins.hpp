// Plugins linked into the config tests (and the config fuzzer), registered with add_builtin.
// Validation never creates instances, so the classes only need their schemas and kinds.
#pragma once

#include <iotgw/core/config_loader.hpp>
#include <iotgw/core/diagnostics.hpp>
#include <iotgw/core/plugin_registry.hpp>
#include <iotgw/plugin_abi.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace iotgw::test {

// Registers: credentials "file", connection "mqtt", sources "tick", "every" (one field of each
// type), "listener" (accepts messages), processor "filter", sink "console".
void add_config_test_plugins(core::PluginRegistry& registry);

// A zero-filled host table: enough for plugins that are described but never created.
const iotgw_host_api* config_test_host_api();

std::vector<std::string> diagnostic_lines(const core::Diagnostics& diags);

}  // namespace iotgw::test
