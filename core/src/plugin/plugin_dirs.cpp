#include <iotgw/core/plugin_registry.hpp>

#include <cstdlib>
#include <string_view>
#include <system_error>

namespace iotgw::core {

std::vector<std::filesystem::path> default_plugin_dirs() {
    namespace fs = std::filesystem;
    std::vector<fs::path> dirs;
    if (const char* env = std::getenv("IOTGW_PLUGIN_PATH")) {
        std::string_view rest(env);
        while (true) {
            const auto colon = rest.find(':');
            const std::string_view part = rest.substr(0, colon);
            // Like $PATH, "a::b" or a trailing ':' must not turn into the current directory.
            if (!part.empty()) dirs.emplace_back(part);
            if (colon == std::string_view::npos) break;
            rest.remove_prefix(colon + 1);
        }
        // An empty value is treated as unset: "IOTGW_PLUGIN_PATH= iotgw ..." should not leave
        // the gateway without any plugin.
        if (!dirs.empty()) return dirs;
    }

    // The build tree (build/bin, build/lib/iotgw/plugins) and every install prefix share this
    // layout, so a relocated install or an uninstalled build finds its own plugins first.
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        const fs::path candidate = (exe.parent_path() / ".." / "lib" / "iotgw" / "plugins").lexically_normal();
        if (fs::is_directory(candidate, ec)) return {candidate};
    }
    return {fs::path(IOTGW_PLUGIN_INSTALL_DIR)};
}

}  // namespace iotgw::core
