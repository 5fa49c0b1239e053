// The `filter` processor in a real pipeline (the matching rules are tested with the SDK).
#include "config_text.hpp"
#include "gateway_harness.hpp"

#include <gtest/gtest.h>

namespace iotgw::test {
namespace {

// Two fixture sources emitting twice each, "status" on amr/AMR-001/status and "debug" on
// debug/AMR-001, through the filter "only" (`filter_fields` from line 18 on) to a fixture sink.
std::string config(const std::string& filter_fields) {
    const auto twice = [](const std::string& topic, const std::string& payload) {
        return "topic = \"" + topic + "\"\npayload = \"" + payload + "\"\ninterval = \"5ms\"\ncount = 2";
    };
    return ConfigText()
        .source("status", "fixture_source", twice("amr/${thing}/status", "s"))
        .source("debug", "fixture_source", twice("debug/${thing}", "d"))
        .processor("only", "filter", filter_fields)
        .sink("seen", "fixture_sink")
        .pipeline("a", "status", {"seen"}, {"only"})
        .pipeline("b", "debug", {"seen"}, {"only"});
}

TEST(FilterPlugin, PassesOnlyMatchingTopics) {
    GatewayHarness h;
    ASSERT_EQ(h.start(config("topics = [\"amr/${thing}/#\"]")), "");
    ASSERT_TRUE(h.run_until([&] {
        return h.gateway().metrics().counter_value("only.dropped") >= 2 &&
               h.lines_with("received amr/").size() >= 2;
    })) << h.log().joined();
    EXPECT_TRUE(h.lines_with("received debug/").empty()) << h.log().joined();
}

TEST(FilterPlugin, InvertPassesTheOthers) {
    GatewayHarness h;
    ASSERT_EQ(h.start(config("topics = [\"amr/#\"]\ninvert = true")), "");
    ASSERT_TRUE(h.run_until([&] { return h.lines_with("received debug/").size() >= 2; })) << h.log().joined();
    EXPECT_TRUE(h.lines_with("received amr/").empty()) << h.log().joined();
}

TEST(FilterPlugin, AMalformedFilterIsRefusedBeforeStart) {
    GatewayHarness h;
    const std::string error = h.dry_run(config("topics = [\"amr/#/x\"]"));
    EXPECT_NE(error.find("topics: 'amr/#/x' is not a valid MQTT topic filter: '#' must be the last level"),
              std::string::npos)
        << error;
}

TEST(FilterPlugin, AnEmptyFilterListIsRefusedByTheSchema) {
    GatewayHarness h;
    const std::string errors = h.load(config("topics = []"));
    EXPECT_NE(
        errors.find(
            "test.toml:18:10: error: key 'topics' of [processors.only]: has 0 elements, at least 1 required"),
        std::string::npos)
        << errors;
}

}  // namespace
}  // namespace iotgw::test
