#include "descriptor_check.hpp"
#include "plugin_file_trust.hpp"

#include <iotgw/core/kinds.hpp>
#include <iotgw/core/plugin_registry.hpp>

#include <boost/dll/shared_library.hpp>

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <system_error>
#include <tuple>
#include <utility>

namespace iotgw::core {

namespace fs = std::filesystem;

// One library file the registry has seen. Refused libraries are remembered too (without a
// handle) so that reaching the same file again, e.g. through a symlinked directory, stays silent.
struct PluginRegistry::Library {
    fs::path canonical;
    std::optional<boost::dll::shared_library> handle;  // empty: refused, already unloaded
    const LoadedPlugin* plugin = nullptr;
};

namespace {

// Boost reports every dlopen failure as a generic errno text ("Bad file descriptor"). The
// loader's own sentence is what tells an operator what is wrong, so ask for it once more.
std::string loader_reason(const fs::path& file, const std::exception& boost_error) {
    ::dlerror();
    void* h = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) {
        const char* text = ::dlerror();
        if (text != nullptr) return text;
    } else {
        ::dlclose(h);
    }
    return boost_error.what();
}

bool plugin_order(const LoadedPlugin* a, const LoadedPlugin* b) noexcept {
    return std::tie(a->kind, a->name) < std::tie(b->kind, b->name);
}

}  // namespace

const FieldSpec* LoadedPlugin::field(std::string_view field_name) const noexcept {
    auto it = std::find_if(fields.begin(), fields.end(),
                           [&](const FieldSpec& f) { return f.name == field_name; });
    return it == fields.end() ? nullptr : &*it;
}

bool unsafe_plugin_dirs_allowed_by_environment() noexcept {
    const char* v = std::getenv("IOTGW_ALLOW_UNSAFE_PLUGIN_DIRS");
    return v != nullptr && std::strcmp(v, "1") == 0;
}

PluginRegistry::PluginRegistry(const iotgw_host_api* host_api)
    : host_api_(host_api), unsafe_allowed_(unsafe_plugin_dirs_allowed_by_environment()) {}

PluginRegistry::~PluginRegistry() {
    // Descriptors point into the libraries: drop every record of them before unloading, and
    // unload in reverse order of loading.
    plugins_.clear();
    while (!libraries_.empty()) libraries_.pop_back();
}

void PluginRegistry::load_directory(const fs::path& dir) {
    std::error_code ec;
    const auto status = fs::status(dir, ec);
    if (ec && ec != std::errc::no_such_file_or_directory) {
        failures_.push_back({dir.string(),
                             "cannot read plugin directory " + dir.string() + ": " + ec.message() +
                                 ": check its permissions and those of its parents.",
                             false});
        return;
    }
    if (!fs::exists(status)) {
        failures_.push_back({dir.string(),
                             "plugin directory " + dir.string() +
                                 " does not exist: create it, or correct or remove the path that lists it.",
                             false});
        return;
    }
    if (!fs::is_directory(status)) {
        failures_.push_back({dir.string(),
                             "plugin directory " + dir.string() +
                                 " is not a directory: list the directory that contains the plugin "
                                 "libraries instead.",
                             false});
        return;
    }

    if (!unsafe_allowed_) {
        if (auto problem = plugin_detail::PluginFileTrust(::geteuid()).directory_problem(dir)) {
            failures_.push_back({dir.string(), std::move(*problem), true});
            return;
        }
    }

    std::vector<fs::path> files;
    fs::directory_iterator it(dir, ec);
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
        const fs::path& p = it->path();
        if (p.extension() != ".so") continue;
        std::error_code st_ec;
        const auto st = fs::status(p, st_ec);
        if (fs::is_regular_file(st)) {
            files.push_back(p);
        } else if (!fs::exists(st) && fs::is_symlink(it->symlink_status(st_ec))) {
            failures_.push_back({p.string(),
                                 p.string() + ": is a symbolic link to " +
                                     fs::read_symlink(p, st_ec).string() +
                                     ", which does not exist: fix the link or remove it.",
                                 false});
        }
    }
    if (ec) {
        failures_.push_back({dir.string(),
                             "cannot read plugin directory " + dir.string() + ": " + ec.message() +
                                 ": check its permissions.",
                             false});
        return;
    }
    // Directory order depends on the file system; load order decides which of two duplicates
    // is named first, so make it reproducible.
    std::sort(files.begin(), files.end(),
              [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
    for (const auto& f : files) load_file(f);
}

const LoadedPlugin* PluginRegistry::load_file(const fs::path& file) {
    const std::string origin = file.string();
    std::error_code ec;
    fs::path canonical = fs::canonical(file, ec);
    if (ec) {
        failures_.push_back({origin,
                             origin + ": cannot load the library (" + ec.message() +
                                 "): check the path and its permissions.",
                             false});
        return nullptr;
    }
    for (const auto& lib : libraries_) {
        if (lib->canonical == canonical) return lib->plugin;
    }

    auto lib = std::make_unique<Library>();
    lib->canonical = canonical;
    Library& record = *lib;
    libraries_.push_back(std::move(lib));

    auto refuse = [&](std::string message, bool fatal = false) -> const LoadedPlugin* {
        failures_.push_back({origin, std::move(message), fatal});
        record.handle.reset();
        return nullptr;
    };

    // Checked, then opened by the resolved path: every directory on that path is changeable
    // only by root or the gateway's user, so nobody else can swap the file between the check
    // and dlopen. (dlopen of /proc/self/fd/N would close the race for root and the gateway's
    // user too, but it names the library "/proc/self/fd/N" in the link map, which debuggers,
    // sanitizer reports and dladdr then show instead of the file.)
    if (!unsafe_allowed_) {
        if (auto problem = plugin_detail::PluginFileTrust(::geteuid()).file_problem(canonical, origin))
            return refuse(std::move(*problem), true);
    }

    try {
        // RTLD_NOW: an unresolved symbol must show here, with the file named, not as a crash
        // when a callback first runs. RTLD_LOCAL: plugins must not see each other's symbols.
        record.handle.emplace(canonical, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    } catch (const std::exception& e) {
        return refuse(plugin_detail::describe_load_error(origin, loader_reason(canonical, e)));
    }

    if (!record.handle->has(IOTGW_ENTRY_SYMBOL)) {
        return refuse(origin +
                      ": not an iotgw plugin: it does not export '" IOTGW_ENTRY_SYMBOL
                      "'. Plugins declare it with IOTGW_DECLARE_PLUGIN (see docs/plugin-sdk.md); if "
                      "this is not a plugin, move it out of the plugin directory.");
    }
    const iotgw_plugin_entry_fn entry =
        record.handle->get<const iotgw_plugin_descriptor*(const iotgw_host_api*)>(IOTGW_ENTRY_SYMBOL);
    const iotgw_plugin_descriptor* d = entry(host_api_);

    const LoadedPlugin* p = admit(d, origin);
    if (p == nullptr) {
        // admit() recorded why; nothing may keep pointing into the library once it is unloaded.
        record.handle.reset();
        return nullptr;
    }
    record.plugin = p;
    return p;
}

const LoadedPlugin* PluginRegistry::add_builtin(iotgw_plugin_entry_fn entry, std::string_view origin) {
    if (entry == nullptr) {
        failures_.push_back({std::string(origin),
                             std::string(origin) + ": no entry point was given for this builtin plugin.",
                             false});
        return nullptr;
    }
    return admit(entry(host_api_), std::string(origin));
}

const LoadedPlugin* PluginRegistry::admit(const iotgw_plugin_descriptor* d, std::string origin) {
    auto plugin = std::make_unique<LoadedPlugin>();
    if (auto problem = plugin_detail::check_descriptor(d, origin, *plugin)) {
        failures_.push_back({std::move(origin), std::move(*problem), false});
        return nullptr;
    }
    if (const LoadedPlugin* existing = find(plugin->kind, plugin->name)) {
        // Which one a config would get would depend on directory order: refuse to guess.
        failures_.push_back({origin,
                             "plugin '" + plugin->name + "' (" + std::string(kind_name(plugin->kind)) +
                                 ") is provided by both " + existing->origin + " and " + origin +
                                 ": remove one of them from the plugin directories.",
                             true});
        return nullptr;
    }
    plugins_.push_back(std::move(plugin));
    return plugins_.back().get();
}

const LoadedPlugin* PluginRegistry::find(iotgw_kind kind, std::string_view name) const noexcept {
    for (const auto& p : plugins_) {
        if (p->kind == kind && p->name == name) return p.get();
    }
    return nullptr;
}

std::vector<const LoadedPlugin*> PluginRegistry::plugins() const {
    std::vector<const LoadedPlugin*> out;
    out.reserve(plugins_.size());
    for (const auto& p : plugins_) out.push_back(p.get());
    std::sort(out.begin(), out.end(), plugin_order);
    return out;
}

bool PluginRegistry::has_fatal_failures() const noexcept {
    return std::any_of(failures_.begin(), failures_.end(), [](const LoadFailure& f) { return f.fatal; });
}

}  // namespace iotgw::core
