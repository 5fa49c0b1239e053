// Plugins linked into the runtime tests (registered with PluginRegistry::add_builtin), written
// with the public SDK exactly as an external plugin would be, plus a recorder the tests read.
#pragma once

#include <iotgw/core/config_loader.hpp>
#include <iotgw/core/gateway.hpp>
#include <iotgw/core/plugin_registry.hpp>
#include <iotgw/plugin_abi.h>

#include <boost/asio/io_context.hpp>

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace iotgw::test {

struct Recorded {
    std::string instance;
    std::string topic;
    std::string payload;
    uint32_t endpoint = 0;
    int qos = 0;
    bool retain = false;
};

// Everything the test plugins observe: messages reaching sinks/connections and lifecycle
// events ("start:name", "stop:name", "create:name", "destroy:name"), in order.
class Recorder {
public:
    static Recorder& get();
    void reset();
    void message(Recorded r);
    void event(std::string e);
    std::vector<Recorded> messages() const;
    std::vector<Recorded> messages_of(const std::string& instance) const;
    std::vector<std::string> events() const;

private:
    mutable std::mutex mutex_;
    std::vector<Recorded> messages_;
    std::vector<std::string> events_;
};

// Make a test source emit now (on the loop thread). Returns the host status.
int probe_emit(const std::string& instance, const std::string& topic, const std::string& payload);
// Make a test connection emit on the INPUT endpoint it opened for `address`.
int connection_receive(const std::string& instance, const std::string& address, const std::string& payload);

// The host handle of a test source instance, as its plugin holds it.
iotgw_host_instance* probe_handle(const std::string& instance);

// Registers: sources "probe", processors "tag" and "delayed", sinks "collect", connections
// "loopback", credentials "static".
void register_test_plugins(core::PluginRegistry& registry);

// Parse `toml` (named `name` in diagnostics) against a registry holding the test plugins.
// Fails the current test with the diagnostics if the config is invalid.
std::optional<core::GatewayConfig> test_config(core::PluginRegistry& registry, const std::string& toml,
                                               const std::string& name = "test.toml");

}  // namespace iotgw::test
