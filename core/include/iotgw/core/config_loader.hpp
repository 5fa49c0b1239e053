// Reads a gateway TOML file (plus its conf.d overlay), loads the plugins it needs, and
// validates every instance and pipeline against the plugins' schemas before anything starts.
#pragma once

#include <iotgw/core/diagnostics.hpp>
#include <iotgw/core/gateway_config.hpp>
#include <iotgw/core/plugin_registry.hpp>

#include <filesystem>
#include <optional>
#include <string_view>

namespace iotgw::core {

struct LoadOptions {
    // Plugin directories used in addition to [gateway] plugin_dirs; empty means
    // default_plugin_dirs(). Tests point this at their fixtures.
    std::vector<std::filesystem::path> default_plugin_dirs;
    bool use_default_plugin_dirs = true;
};

// Full load: parse, overlay, substitute ${variables}, load plugin directories into `registry`,
// validate. Returns the config only if `diags` has no errors (warnings are allowed).
std::optional<GatewayConfig> load_config(const std::filesystem::path& file, PluginRegistry& registry,
                                         Diagnostics& diags, const LoadOptions& options = {});

// Same, from TOML text (fuzzing, tests); `virtual_path` names it in diagnostics and is the base
// for relative paths.
std::optional<GatewayConfig> load_config_text(std::string_view toml_text,
                                              const std::filesystem::path& virtual_path,
                                              PluginRegistry& registry, Diagnostics& diags,
                                              const LoadOptions& options = {});

}  // namespace iotgw::core
