// The `events` source: core lifecycle events become messages; topic templates; bad filters.
#include "config_text.hpp"
#include "gateway_harness.hpp"

#include <gtest/gtest.h>

namespace iotgw::test {
namespace {

// The events source "lifecycle" with `fields`, to a fixture sink.
std::string config(const std::string& fields) {
    return ConfigText()
        .source("lifecycle", "events", fields)
        .sink("seen", "fixture_sink")
        .pipeline("p", "lifecycle", {"seen"});
}

TEST(EventsPlugin, TheRetainedStartedEventReachesThePipelineWithTheTopicTemplate) {
    GatewayHarness h;
    ASSERT_EQ(h.start(config("topic = \"amr/${thing}/gateway/{event}\"")), "");
    auto lines = h.lines_with("received amr/AMR-001/gateway/started");
    ASSERT_EQ(lines.size(), 1u) << h.log().joined();
    EXPECT_NE(lines[0].find("\"thing\":\"AMR-001\""), std::string::npos) << lines[0];
    EXPECT_NE(lines[0].find("\"instances\":2"), std::string::npos) << lines[0];
}

TEST(EventsPlugin, TheStoppingEventIsEmittedBeforeTheInstancesStop) {
    GatewayHarness h;
    ASSERT_EQ(h.start(config("")), "");
    h.gateway().stop();
    EXPECT_EQ(h.lines_with("received $iotgw/core/stopping {}").size(), 1u) << h.log().joined();
}

TEST(EventsPlugin, AMalformedFilterIsRefusedBeforeStart) {
    GatewayHarness h;
    const std::string error = h.dry_run(config("events = [\"$iotgw/#/x\"]"));
    EXPECT_NE(error.find("events: '$iotgw/#/x' is not a valid filter: '#' must be the last level"),
              std::string::npos)
        << error;
}

}  // namespace
}  // namespace iotgw::test
