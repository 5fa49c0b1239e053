// The `filter` processor in a real pipeline (the matching rules are tested with the SDK).
#include "gateway_harness.hpp"

#include <gtest/gtest.h>

namespace iotgw::test {
namespace {

std::string config(const std::string& filter_fields) {
    return R"(
[gateway]
thing = "AMR-001"
[sources.status]
type = "fixture_source"
topic = "amr/${thing}/status"
payload = "s"
interval = "5ms"
count = 2
[sources.debug]
type = "fixture_source"
topic = "debug/${thing}"
payload = "d"
interval = "5ms"
count = 2
[processors.only]
type = "filter"
)" + filter_fields + R"(
[sinks.seen]
type = "fixture_sink"
[[pipelines]]
name = "a"
from = "status"
via = ["only"]
to = ["seen"]
[[pipelines]]
name = "b"
from = "debug"
via = ["only"]
to = ["seen"]
)";
}

TEST(FilterPlugin, PassesOnlyMatchingTopics) {
    GatewayHarness h;
    ASSERT_EQ(h.start(config("topics = [\"amr/${thing}/#\"]")), "");
    ASSERT_TRUE(h.run_until([&] { return h.gateway().metrics().counter_value("only.dropped") >= 2 &&
                                         h.lines_with("received amr/").size() >= 2; }))
        << h.log().joined();
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
    EXPECT_NE(errors.find("test.toml:18:10: error: key 'topics' of [processors.only]: has 0 elements, at least 1 required"), std::string::npos) << errors;
}

}  // namespace
}  // namespace iotgw::test
