// Finds, loads and vets plugin libraries (Boost.DLL), and answers "which plugin is type X of
// kind K". Libraries stay loaded for the life of the registry: instances made by a plugin must
// be destroyed before the registry is (see Gateway).
#pragma once

#include <iotgw/core/diagnostics.hpp>
#include <iotgw/core/field_spec.hpp>
#include <iotgw/plugin_abi.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace iotgw::core {

struct LoadedPlugin {
    std::string origin;  // library path, or "builtin:<name>" for plugins linked into the binary
    const iotgw_plugin_descriptor* descriptor = nullptr;
    iotgw_kind kind = IOTGW_KIND_SOURCE;
    std::string name;
    std::string version;
    std::string description;
    uint32_t abi_version = 0;
    std::vector<FieldSpec> fields;

    const FieldSpec* field(std::string_view name) const noexcept;
};

// A library that could not be used; `fatal` ones (duplicate names) make any config invalid,
// the others only matter if the config needs a plugin none of the loaded libraries provides.
struct LoadFailure {
    std::string origin;
    std::string message;  // complete sentence: what is wrong and what to do
    bool fatal = false;
};

class PluginRegistry {
public:
    explicit PluginRegistry(const iotgw_host_api* host_api);
    ~PluginRegistry();
    PluginRegistry(const PluginRegistry&) = delete;
    PluginRegistry& operator=(const PluginRegistry&) = delete;

    // Load every "*.so" file directly in `dir` (sorted by name, not recursive). Libraries
    // already loaded (same canonical path) are skipped. A missing directory is a failure.
    void load_directory(const std::filesystem::path& dir);
    // Load one library. Returns the plugin or nullptr (the reason is in failures()).
    const LoadedPlugin* load_file(const std::filesystem::path& file);

    // Unless allowed, a directory or library that someone other than root or the gateway's user
    // (its effective uid) owns or that group or others may write is refused, as a fatal failure:
    // the sshd StrictModes rule (core/src/plugin/plugin_file_trust.hpp). Allowed from the start if
    // the environment has IOTGW_ALLOW_UNSAFE_PLUGIN_DIRS=1 (`iotgw --allow-unsafe-plugin-dirs`
    // sets it), for development trees only.
    void allow_unsafe_plugin_dirs(bool allowed) noexcept { unsafe_allowed_ = allowed; }
    bool unsafe_plugin_dirs_allowed() const noexcept { return unsafe_allowed_; }
    // Register a plugin whose entry point is linked into this binary (tests, benchmarks).
    const LoadedPlugin* add_builtin(iotgw_plugin_entry_fn entry, std::string_view origin);

    const LoadedPlugin* find(iotgw_kind kind, std::string_view name) const noexcept;
    // All usable plugins, sorted by kind then name.
    std::vector<const LoadedPlugin*> plugins() const;
    const std::vector<LoadFailure>& failures() const noexcept { return failures_; }
    bool has_fatal_failures() const noexcept;

    const iotgw_host_api* host_api() const noexcept { return host_api_; }

private:
    struct Library;
    const LoadedPlugin* admit(const iotgw_plugin_descriptor* d, std::string origin);
    const iotgw_host_api* host_api_;
    std::vector<std::unique_ptr<Library>> libraries_;
    std::vector<std::unique_ptr<LoadedPlugin>> plugins_;
    std::vector<LoadFailure> failures_;
    bool unsafe_allowed_;
};

// Whether the environment allows unsafe plugin directories: IOTGW_ALLOW_UNSAFE_PLUGIN_DIRS=1.
bool unsafe_plugin_dirs_allowed_by_environment() noexcept;

// The directories searched when a config names none of its own: $IOTGW_PLUGIN_PATH
// (colon-separated) if set, else <dir of the executable>/../lib/iotgw/plugins if it exists,
// else the compiled-in install directory.
std::vector<std::filesystem::path> default_plugin_dirs();

}  // namespace iotgw::core
