// What the plugin tests that drive one plugin instance with the pipeline doubles share: a harness
// whose registry knows the doubles, a gtest fixture around one, and the start of their configs.
#pragma once

#include "config_text.hpp"
#include "gateway_harness.hpp"
#include "pipeline_doubles.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace iotgw::test {

// A config for the thing AMR-001 with a stand-in MQTT connection "cloud" (test_link), lines 2-5;
// tests add their own instances and pipelines.
inline ConfigText with_cloud_link() {
    ConfigText config;
    config.connection("cloud", "test_link");
    return config;
}

// A GatewayHarness whose registry has the doubles (test_feed, test_record, test_link): for a
// second gateway inside one test, e.g. to check a config that must not start.
class DoublesHarness : public GatewayHarness {
public:
    DoublesHarness() { doubles::register_all(registry()); }
};

// A fixture with one DoublesHarness `h` and nothing recorded yet.
class DoublesGatewayTest : public ::testing::Test {
protected:
    DoublesGatewayTest() { doubles::clear_seen(); }

    // Run the loop until something was recorded on `topic`.
    bool run_until_seen_on(const std::string& topic,
                           std::chrono::milliseconds limit = std::chrono::seconds(5)) {
        return h.run_until([&] { return !doubles::seen_on(topic).empty(); }, limit);
    }
    // The gateway's counter `name` (a plugin's are "<instance>.<counter>").
    std::uint64_t counter_value(const std::string& name) { return h.gateway().metrics().counter_value(name); }

    DoublesHarness h;
};

}  // namespace iotgw::test
