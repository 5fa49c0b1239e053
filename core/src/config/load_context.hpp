// State shared by the steps of one config load, and the value-reading helpers they share.
#pragma once

#include <iotgw/core/config_value.hpp>
#include <iotgw/core/diagnostics.hpp>
#include <iotgw/core/field_spec.hpp>
#include <iotgw/core/plugin_registry.hpp>

#include "variables.hpp"

#include <toml++/toml.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace iotgw::core::config_detail {

struct LoadContext {
    Diagnostics& diags;
    PluginRegistry& registry;
    std::vector<std::string> files;                         // display names: main, then overlays
    std::map<std::string, std::filesystem::path> base_dirs;  // display name -> absolute directory
    std::filesystem::path main_dir;                          // absolute
    Variables vars;

    // The directory relative paths in a node resolve against: that of the file it was written in.
    std::filesystem::path base_dir_of(const toml::source_region& r) const;
    void error(const SourcePos& where, std::string message) { diags.error(where, std::move(message)); }
};

// Reads `n` as field `f`: shape, ${variables} (only ${env:...} when `env_only`), duration
// parsing, bounds, choices, and PATH resolution. On failure reports "<context>: <why>" at the
// node and returns false. REF targets are checked by the caller, which knows the instances.
bool read_value(LoadContext& ctx, const FieldSpec& f, const toml::node& n, const std::string& context,
                ConfigValue& out, bool env_only = false);

// "unknown key 'x' in <where> (did you mean 'y'?); allowed keys<label>: a, b"
void report_unknown_key(LoadContext& ctx, const SourcePos& pos, std::string_view key, const std::string& where,
                        const std::vector<std::string>& allowed, const std::string& label = "");

std::string resolve_path(const std::filesystem::path& base, const std::string& value);

}  // namespace iotgw::core::config_detail
