// Test doubles linked into the test binaries (registered with PluginRegistry::add_builtin),
// written with the public SDK like any plugin, for driving plugins in a GatewayHarness without
// a broker:
//   source     "test_feed"   - emits what the test hands it (feed())
//   sink       "test_record" - records every message with its QoS and retain flag
//   connection "test_link"   - stands in for the MQTT connection: records what it is sent,
//                              receives on its input endpoints (link_receive()) and publishes
//                              its retained "link" event like plugins/mqtt (link_state())
// Call feed/link_* between harness run slices: the harness runs the loop on the test thread.
#pragma once

#include <iotgw/core/plugin_registry.hpp>

#include <string>
#include <vector>

namespace iotgw::test::doubles {

struct Seen {
    std::string instance;  // the test_record / test_link instance that received it
    std::string address;   // the endpoint address of a test_link ("" without one)
    std::string topic;
    std::string payload;
    int qos = 0;
    bool retain = false;
};

void register_all(core::PluginRegistry& registry);

// Everything recorded since the last clear_seen(), in order of arrival.
std::vector<Seen> seen();
std::vector<Seen> seen_on(const std::string& topic);
void clear_seen();

// Make the test_feed instance `instance` emit now. Returns false if there is no such instance
// or the gateway refused the emit.
bool feed(const std::string& instance, const std::string& topic, const std::string& payload, int qos = 0,
          bool retain = false);
// Make the test_link `instance` receive a message on the input endpoint it opened for `address`.
bool link_receive(const std::string& instance, const std::string& address, const std::string& topic,
                  const std::string& payload);
// Publish "$iotgw/instance/<instance>/link" (retained), as the MQTT connection does.
bool link_state(const std::string& instance, bool connected);
// Publish that link event with `payload` as is (e.g. a failed attempt with its failure counts).
bool link_event(const std::string& instance, const std::string& payload);

}  // namespace iotgw::test::doubles
