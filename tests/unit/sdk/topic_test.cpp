// MQTT topic-filter rules shared by the core, the filter plugin and connection plugins.
#include <iotgw/sdk/topic.hpp>

#include <gtest/gtest.h>

namespace {

using iotgw::sdk::topic_matches;
using iotgw::sdk::validate_topic_filter;

TEST(TopicFilter, MatchesLikeAnMqttBroker) {
    EXPECT_TRUE(topic_matches("a/b", "a/b"));
    EXPECT_FALSE(topic_matches("a/b", "a/c"));
    EXPECT_FALSE(topic_matches("a/b", "a/b/c"));
    EXPECT_FALSE(topic_matches("a/b/c", "a/b"));
    EXPECT_TRUE(topic_matches("a/+", "a/b"));
    EXPECT_TRUE(topic_matches("a/+", "a/"));
    EXPECT_FALSE(topic_matches("a/+", "a/b/c"));
    EXPECT_TRUE(topic_matches("+/+/status", "amr/AMR-001/status"));
    EXPECT_TRUE(topic_matches("amr/#", "amr/AMR-001/cmd/call"));
    EXPECT_TRUE(topic_matches("amr/#", "amr"));  // '#' includes the parent level
    EXPECT_TRUE(topic_matches("#", "anything/at/all"));
    EXPECT_FALSE(topic_matches("#", "$aws/things/x/shadow/get"));
    EXPECT_FALSE(topic_matches("+/things/#", "$aws/things/x"));
    EXPECT_TRUE(topic_matches("$aws/things/+/shadow/#", "$aws/things/x/shadow/get"));
}

TEST(TopicFilter, RejectsMalformedFiltersWithAReason) {
    EXPECT_EQ(validate_topic_filter("a/#"), std::nullopt);
    EXPECT_EQ(validate_topic_filter("+/b/+"), std::nullopt);
    EXPECT_EQ(validate_topic_filter("a/#/b"), "'#' must be the last level");
    EXPECT_EQ(validate_topic_filter("a/b#"), "'#' must be a whole level");
    EXPECT_EQ(validate_topic_filter("a+/b"), "'+' must be a whole level");
    EXPECT_EQ(validate_topic_filter(""), "an empty topic filter matches nothing");
}

}  // namespace
