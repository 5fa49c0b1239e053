// The `tick` source in a real gateway: cadence, template, count, and its config checks.
#include "config_text.hpp"
#include "gateway_harness.hpp"

#include <gtest/gtest.h>

namespace iotgw::test {
namespace {

// The tick source "beat" publishing on `topic` with `tick_fields` (from line 7 on), to a fixture sink.
std::string config(const std::string& tick_fields, const std::string& topic = "amr/${thing}/heartbeat") {
    return ConfigText()
        .source("beat", "tick", "topic = \"" + topic + "\"\n" + tick_fields)
        .sink("seen", "fixture_sink")
        .pipeline("p", "beat", {"seen"});
}

TEST(TickPlugin, EmitsTheTemplatedPayloadCountTimesThenStops) {
    GatewayHarness h;
    ASSERT_EQ(
        h.start(config("interval = \"10ms\"\ncount = 3\npayload = \"n={seq}\"\nqos = 1\nretain = true")), "");
    ASSERT_TRUE(h.run_until([&] { return h.lines_with("received amr/AMR-001/heartbeat").size() >= 3; }))
        << h.log().joined();
    h.run_for(std::chrono::milliseconds(60));  // no fourth message
    auto lines = h.lines_with("received amr/AMR-001/heartbeat");
    ASSERT_EQ(lines.size(), 3u) << h.log().joined();
    EXPECT_NE(lines[0].find("n=1"), std::string::npos);
    EXPECT_NE(lines[2].find("n=3"), std::string::npos);
    EXPECT_TRUE(h.log().contains("count reached, stopping"));
    EXPECT_EQ(h.gateway().metrics().counter_value("beat.emitted"), 3u);
}

TEST(TickPlugin, TimestampAndUptimePlaceholdersAreFilled) {
    GatewayHarness h;
    ASSERT_EQ(h.start(config("interval = \"5ms\"\ncount = 1\npayload = '{\"ts\":{ts},\"up\":{uptime}}'")),
              "");
    ASSERT_TRUE(h.run_until([&] { return !h.lines_with("received amr/").empty(); })) << h.log().joined();
    const std::string line = h.lines_with("received amr/").front();
    EXPECT_EQ(line.find("{ts}"), std::string::npos) << line;
    EXPECT_NE(line.find("\"ts\":17"), std::string::npos) << line;  // epoch ms, this century
    EXPECT_NE(line.find("\"up\":"), std::string::npos) << line;
}

TEST(TickPlugin, TheScheduleDoesNotDriftWhenTheLoopIsLate) {
    GatewayHarness h;
    ASSERT_EQ(h.start(config("interval = \"20ms\"")), "");
    // Block the loop for 5 periods: the missed ones are skipped, not burst out afterwards.
    h.run_for(std::chrono::milliseconds(30));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    h.run_for(std::chrono::milliseconds(5));
    EXPECT_GE(h.gateway().metrics().counter_value("beat.skipped_periods"), 3u);
    EXPECT_LE(h.gateway().metrics().counter_value("beat.emitted"), 4u);
}

TEST(TickPlugin, AnIntervalWithoutUnitIsRefusedWithTheExpectedForm) {
    GatewayHarness h;
    const std::string errors = h.load(config("interval = 10"));
    EXPECT_NE(errors.find("test.toml:7:"), std::string::npos) << errors;
    EXPECT_NE(errors.find("duration"), std::string::npos) << errors;
}

TEST(TickPlugin, AnEmptyTopicIsRefusedByThePlugin) {
    GatewayHarness h;
    const std::string error = h.dry_run(config("", ""));
    EXPECT_NE(error.find("failed to initialise: 'topic' must not be empty (fix the instance's config)"),
              std::string::npos)
        << error;
}

}  // namespace
}  // namespace iotgw::test
