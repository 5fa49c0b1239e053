// The [gateway] table: identity, plugin directories, logging, stop timeout, overlays and
// variables.
#pragma once

#include <iotgw/core/gateway_config.hpp>

#include "load_context.hpp"

#include <filesystem>
#include <optional>
#include <string>

namespace iotgw::core::config_detail {

struct OverlayDir {
    std::filesystem::path absolute;  // where to list files
    std::string display;             // how diagnostics name it
};

// [gateway] overlay_dir of the main document, read before any overlay is merged. nullopt if
// unset or invalid (then reported).
std::optional<OverlayDir> read_overlay_dir(LoadContext& ctx, const toml::table& root,
                                           const std::string& main_display);

// Everything else of [gateway], after merging. Fills `out` (plugin_dirs: the configured ones,
// absolute) and defines the ${variables} in ctx.
void read_gateway(LoadContext& ctx, const toml::table& root, GatewaySettings& out);

}  // namespace iotgw::core::config_detail
