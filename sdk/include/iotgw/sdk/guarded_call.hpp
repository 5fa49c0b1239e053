// Runs a plugin's callback for the host: an exception must not unwind into the host's C frames,
// so it is logged against the instance instead.
#pragma once

#include <iotgw/plugin_abi.h>
#include <iotgw/sdk/host_api.hpp>

#include <exception>
#include <functional>
#include <string>

// Not "namespace iotgw::sdk": GCC rejects attributes on a nested namespace definition.
namespace iotgw {
namespace [[gnu::visibility("hidden")]] sdk {
namespace detail {
inline void run_guarded(iotgw_host_instance* self, const char* what,
                        const std::function<void()>& fn) noexcept {
    try {
        fn();
    } catch (const std::exception& e) {
        host_api().log(self, IOTGW_LOG_ERROR, (std::string(what) + " failed: " + e.what()).c_str());
    } catch (...) {
        host_api().log(self, IOTGW_LOG_ERROR, (std::string(what) + " failed: unknown exception").c_str());
    }
}
}  // namespace detail
}  // namespace sdk
}  // namespace iotgw
