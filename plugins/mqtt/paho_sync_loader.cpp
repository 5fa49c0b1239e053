// Finds and loads the `paho-sync` client module (paho_sync_module.hpp says why it is a module).
// It is looked for beside this plugin's own file, which is what the package installs and the
// build tree lays out, and it is held to the rule the gateway applies to plugin files: owned by
// root or by the user the gateway runs as, and writable by nobody else.
#include "module_file_trust.hpp"
#include "paho_sync_module.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string>

namespace iotgw::plugins::mqtt {
namespace {

namespace fs = std::filesystem;

// This plugin's own file, from the address of a function in it.
fs::path this_plugin_file() {
    Dl_info info{};
    if (dladdr(reinterpret_cast<const void*>(&this_plugin_file), &info) == 0 || info.dli_fname == nullptr)
        throw std::runtime_error("cannot find the mqtt plugin's own file to look for " +
                                 std::string(kPahoSyncModule) + " beside it");
    return fs::path(info.dli_fname);
}

// The factory, from the module loaded once for the process. RTLD_NODELETE: paho's background
// thread belongs to the library and may still be winding down when the last client goes.
MakePahoSyncClient* factory() {
    static std::mutex mutex;
    static MakePahoSyncClient* fn = nullptr;
    std::lock_guard<std::mutex> lock(mutex);
    if (fn != nullptr) return fn;
    const fs::path module = this_plugin_file().parent_path() / kPahoSyncModule;
    for (const fs::path& p : {module, module.parent_path()})
        if (std::string problem = module_file_problem(p, ::geteuid()); !problem.empty())
            throw std::runtime_error(problem);
    void* handle = ::dlopen(module.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (handle == nullptr) {
        const char* err = ::dlerror();
        throw std::runtime_error("cannot load " + module.string() + ": " +
                                 (err != nullptr ? err : "unknown error"));
    }
    void* sym = ::dlsym(handle, kPahoSyncFactory);
    if (sym == nullptr)
        throw std::runtime_error(module.string() + " has no " + kPahoSyncFactory +
                                 ": it does not belong to this version of the mqtt plugin");
    fn = reinterpret_cast<MakePahoSyncClient*>(sym);
    return fn;
}

}  // namespace

std::unique_ptr<MqttClient> make_paho_sync_client(sdk::Host host, const MqttSettings& settings,
                                                  ClientEvents& events) {
    std::string error;
    MqttClient* client = factory()(sdk::detail::host_api_slot(), host, settings, events, error);
    if (client == nullptr) throw std::runtime_error("cannot create the paho-sync MQTT client: " + error);
    return std::unique_ptr<MqttClient>(client);
}

}  // namespace iotgw::plugins::mqtt
