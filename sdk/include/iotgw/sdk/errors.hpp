// Exceptions a plugin may throw; the SDK turns them into status codes at the C boundary.
#pragma once

#include <iotgw/plugin_abi.h>

#include <stdexcept>
#include <string>

// Not "namespace iotgw::sdk": GCC rejects attributes on a nested namespace definition.
namespace iotgw {
namespace [[gnu::visibility("hidden")]] sdk {

// A failure the plugin explains itself; its message reaches the operator's log verbatim.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& what, int status = IOTGW_ERR_FAILED)
        : std::runtime_error(what), status_(status) {}
    int status() const noexcept { return status_; }

private:
    int status_;
};

// A configuration value the schema could not express a rule for (e.g. two keys that exclude
// each other). Reported like a schema violation: name the key and what is expected.
class ConfigError : public Error {
public:
    explicit ConfigError(const std::string& what) : Error(what, IOTGW_ERR_CONFIG) {}
};

}  // namespace sdk
}  // namespace iotgw
