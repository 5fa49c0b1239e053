// Whether a plugin library may be loaded, judged by who can change it: the sshd StrictModes rule.
// A plugin runs with all the gateway's rights, so the file and every directory on the way to it
// must be changeable only by root or by the gateway's own user (its effective uid); otherwise
// whoever can write one of them can run code as the gateway.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>

namespace iotgw::core::plugin_detail {

class PluginFileTrust {
public:
    // `service_uid`: the gateway's effective uid (owners allowed besides root).
    explicit PluginFileTrust(uid_t service_uid);

    // Why the plugin directory `dir` (as the config or command line named it) may not be used, as
    // a complete sentence with the fix; nullopt if it is safe. Checks the directory it resolves
    // to and every directory above it up to /.
    std::optional<std::string> directory_problem(const std::filesystem::path& dir);
    // Why the library `canonical` (a resolved path: no symlinks, as std::filesystem::canonical
    // gives) may not be loaded; `shown` is the path to name in the message. Checks the file and
    // every directory above it up to /.
    std::optional<std::string> file_problem(const std::filesystem::path& canonical, const std::string& shown);

private:
    // Checks one resolved directory and its parents; results are cached per directory.
    std::optional<std::string> chain_problem(const std::filesystem::path& canonical_dir, bool is_plugin_dir);
    std::optional<std::string> entry_problem(const std::filesystem::path& path, bool is_plugin_dir);

    uid_t service_uid_;
    // (directory, checked as the plugin directory itself) -> its problem, if any.
    std::map<std::pair<std::filesystem::path, bool>, std::optional<std::string>> checked_;
};

// The sentence appended to every refusal: how to run from a development tree anyway.
extern const char* const kUnsafePluginOverride;

}  // namespace iotgw::core::plugin_detail
