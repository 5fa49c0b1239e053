// The mqtt connection's pure rules: AWS limits, topic scope, backoff bounds, offline queue policy.
#include "offline_queue.hpp"
#include "topic_rules.hpp"

#include <iotgw/plugins/common/backoff.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace iotgw::plugins::mqtt {
namespace {

const std::vector<std::string> kScope = {"amr/AMR-001/#", "$aws/things/AMR-001/#"};

TEST(MqttRules, PublishTopicsInsideTheScopeAndLimitsPass) {
    EXPECT_EQ(check_publish_topic("amr/AMR-001/status", kScope), std::nullopt);
    EXPECT_EQ(check_publish_topic("amr/AMR-001", kScope), std::nullopt);
    EXPECT_EQ(check_publish_topic("$aws/things/AMR-001/shadow/name/robot/update", kScope), std::nullopt);
}

TEST(MqttRules, PublishTopicsOutsideTheScopeNameTheScope) {
    auto why = check_publish_topic("amr/AMR-002/status", kScope);
    ASSERT_TRUE(why);
    EXPECT_NE(why->find("outside topic_scope [\"amr/AMR-001/#\", \"$aws/things/AMR-001/#\"]"),
              std::string::npos)
        << *why;
}

TEST(MqttRules, WildcardsTooLongAndTooDeepTopicsAreRefusedWithTheRule) {
    EXPECT_NE(check_publish_topic("amr/AMR-001/+", kScope)->find("wildcard"), std::string::npos);
    const std::string deep = "amr/AMR-001/a/b/c/d/e/f/g";  // 8 slashes
    EXPECT_NE(check_publish_topic(deep, kScope)->find("has 8 '/' separators; AWS IoT allows at most 7"),
              std::string::npos);
    const std::string lng = "amr/AMR-001/" + std::string(250, 'x');
    EXPECT_NE(check_publish_topic(lng, kScope)->find("AWS IoT allows at most 256 bytes"), std::string::npos);
    EXPECT_EQ(counted_slashes("$aws/rules/myrule/a/b/c/d/e/f/g"), 6u);  // the rule prefix is exempt
}

TEST(MqttRules, SubscriptionsMustLieWithinAScopeFilter) {
    EXPECT_EQ(check_subscribe_filter("amr/AMR-001/cmd/+", kScope), std::nullopt);
    EXPECT_EQ(check_subscribe_filter("amr/AMR-001/#", kScope), std::nullopt);
    EXPECT_EQ(check_subscribe_filter("$aws/things/AMR-001/shadow/#", kScope), std::nullopt);
    EXPECT_TRUE(check_subscribe_filter("amr/+/cmd", kScope));  // wider than the scope
    EXPECT_TRUE(check_subscribe_filter("#", kScope));
    EXPECT_TRUE(check_subscribe_filter("amr/AMR-001/#/x", kScope));  // invalid
    EXPECT_TRUE(filter_within("a", "a/#"));
    EXPECT_TRUE(filter_within("a/+/c", "a/+/+"));
    EXPECT_FALSE(filter_within("a/+", "a/b"));
    EXPECT_FALSE(filter_within("$aws/x", "#"));
}

TEST(MqttRules, ClientIdsFollowAwsRules) {
    EXPECT_EQ(check_client_id("AMR-001"), std::nullopt);
    EXPECT_TRUE(check_client_id(""));
    EXPECT_TRUE(check_client_id(std::string(129, 'a')));
    EXPECT_EQ(check_client_id(std::string(128, 'a')), std::nullopt);
    EXPECT_TRUE(check_client_id("$x"));
}

using common::Backoff;

TEST(MqttBackoff, FullJitterStaysWithinTheCeilingAndAboveTheFloor) {
    // The settings the mqtt plugin uses: full jitter, the default 100 ms floor.
    Backoff b({.min = std::chrono::milliseconds(1000), .max = std::chrono::milliseconds(120000)}, 42);
    EXPECT_EQ(b.ceiling(0).count(), 1000);
    EXPECT_EQ(b.ceiling(3).count(), 8000);
    EXPECT_EQ(b.ceiling(40).count(), 120000);
    for (unsigned a = 0; a < 50; ++a) {
        const auto d = b.delay(a);
        EXPECT_GE(d.count(), 100);
        EXPECT_LE(d.count(), b.ceiling(a).count());
    }
    for (int i = 0; i < 20; ++i) {
        const auto t = b.jittered(std::chrono::milliseconds(60000));
        EXPECT_GE(t.count(), 60000);
        EXPECT_LE(t.count(), 90000);
    }
}

TEST(MqttBackoff, FullJitterSpreadsOverTheWholeWindowAndTheFloorRaisesTinySettings) {
    Backoff b({.min = std::chrono::milliseconds(1000), .max = std::chrono::milliseconds(1000)}, 7);
    bool below_half = false;
    for (int i = 0; i < 200 && !below_half; ++i) below_half = b.delay(0).count() < 500;
    EXPECT_TRUE(below_half) << "full jitter reaches below half the ceiling";

    Backoff tiny({.min = std::chrono::milliseconds(1), .max = std::chrono::milliseconds(5)}, 7);
    EXPECT_EQ(tiny.ceiling(0).count(), 100);  // min and max raised to the floor
    EXPECT_EQ(tiny.ceiling(10).count(), 100);
    for (unsigned a = 0; a < 20; ++a) EXPECT_EQ(tiny.delay(a).count(), 100);
}

TEST(MqttOfflineQueue, DropOldestKeepsTheNewestWithinCountAndBytes) {
    OfflineQueue q(3, 1000, OfflineQueue::Drop::oldest);
    for (int i = 1; i <= 5; ++i) {
        auto dropped = q.push(OutMessage{"t", std::to_string(i), 1, false});
        EXPECT_EQ(dropped.size(), i <= 3 ? 0u : 1u);
        if (!dropped.empty()) {
            EXPECT_EQ(dropped[0].payload, std::to_string(i - 3));
        }
    }
    ASSERT_EQ(q.size(), 3u);
    EXPECT_EQ(q.front().payload, "3");
    EXPECT_EQ(q.bytes(), 6u);
}

TEST(MqttOfflineQueue, DropNewestRefusesWhatDoesNotFit) {
    OfflineQueue q(10, 10, OfflineQueue::Drop::newest);
    EXPECT_TRUE(q.push(OutMessage{"t", "1234", 1, false}).empty());  // 5 bytes
    EXPECT_TRUE(q.push(OutMessage{"t", "1234", 1, false}).empty());  // 10 bytes
    auto d = q.push(OutMessage{"t", "x", 1, false});
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].payload, "x");
    EXPECT_EQ(q.size(), 2u);
    OfflineQueue none(0, 10, OfflineQueue::Drop::oldest);
    EXPECT_EQ(none.push(OutMessage{"t", "a", 0, false}).size(), 1u);
}

}  // namespace
}  // namespace iotgw::plugins::mqtt
