// The mqtt connection's pure rules: AWS limits, topic scope, backoff bounds, offline queue policy.
#include "offline_queue.hpp"
#include "reconnect_backoff.hpp"
#include "topic_rules.hpp"

#include <iotgw/plugins/common/backoff.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
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
using std::chrono::milliseconds;

TEST(MqttBackoff, FullJitterStaysWithinTheCeilingAndAboveTheFloor) {
    // Full jitter with Backoff's default 100 ms floor (the plugin's own settings: MqttReconnect).
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

// The plugin's reconnect delays (reconnect_backoff.hpp) with the schema's defaults: reconnect_min
// 1 s, reconnect_max 2 min, reconnect_spread 30 s. Seeded generators: the same draws every run.
MqttSettings default_reconnect() {
    MqttSettings s;
    s.reconnect_min = milliseconds(1000);
    s.reconnect_max = milliseconds(120000);
    s.reconnect_spread = kDefaultReconnectSpread;
    return s;
}

TEST(MqttReconnect, TheFirstAttemptAfterALossIsSpreadUniformlyOverTheWindow) {
    const MqttSettings s = default_reconnect();
    Backoff b(reconnect_backoff_settings(s), 11);
    constexpr int kDraws = 60000;
    std::vector<int> per_second(30, 0);
    int at_floor = 0;
    for (int i = 0; i < kDraws; ++i) {
        const auto d = delay_after_loss(b, s.reconnect_spread, 0);
        ASSERT_GE(d, kSameClientIdConnectInterval);
        ASSERT_LE(d, s.reconnect_spread);
        if (d == kSameClientIdConnectInterval) ++at_floor;
        ++per_second[static_cast<std::size_t>(std::min<int64_t>(d.count() / 1000, 29))];
    }
    // Uniform over 1-30 s: ~2,069 in each second, none before the floor and no pile on it (a
    // draw below the floor raised to it would put 1/30 of the fleet on the same millisecond).
    EXPECT_EQ(per_second[0], 0);
    EXPECT_LT(at_floor, 20);
    for (std::size_t sec = 1; sec < 30; ++sec) EXPECT_NEAR(per_second[sec], kDraws / 29, 300) << "second " << sec;
}

TEST(MqttReconnect, TenThousandGatewaysCutOffAtOnceStayUnderFiveHundredConnectsPerSecond) {
    // AWS IoT Core's default "Connect requests per second per account" is 500: the first attempts
    // of a fleet of 10,000 that lost the broker in the same instant, one generator per gateway.
    const MqttSettings s = default_reconnect();
    std::vector<int> per_second(31, 0);
    for (uint64_t gateway = 0; gateway < 10000; ++gateway) {
        Backoff b(reconnect_backoff_settings(s), gateway * 7919 + 1);
        ++per_second[static_cast<std::size_t>(delay_after_loss(b, s.reconnect_spread, 0).count() / 1000)];
    }
    const int peak = *std::max_element(per_second.begin(), per_second.end());
    EXPECT_LT(peak, 500);
    EXPECT_GT(peak, 300);  // the mean is 333: the draws did spread, not vanish
}

TEST(MqttReconnect, LaterAttemptsBackOffUpToTheMaximumAndNeverGiveUp) {
    const MqttSettings s = default_reconnect();
    Backoff b(reconnect_backoff_settings(s), 5);
    EXPECT_EQ(b.ceiling(1).count(), 2000);
    milliseconds longest{0};
    // No attempt limit: any attempt number still gets a finite delay within the bounds.
    for (unsigned attempt : {1u, 2u, 5u, 7u, 8u, 30u, 31u, 64u, 1000u, 100000u, 4294967295u})
        for (int i = 0; i < 200; ++i) {
            const auto d = delay_after_loss(b, s.reconnect_spread, attempt);
            ASSERT_GE(d, kSameClientIdConnectInterval) << attempt;
            ASSERT_LE(d, s.reconnect_max) << attempt;
            longest = std::max(longest, d);
        }
    EXPECT_GT(longest, milliseconds(100000));  // full jitter reaches up to the cap
}

TEST(MqttReconnect, NoTwoAttemptsOfOneGatewayWithinASecond) {
    // AWS accepts one CONNECT per second per client id: even with reconnect_min set below a
    // second, no delay between two attempts (an attempt refused at once, then the next) is shorter.
    MqttSettings s = default_reconnect();
    s.reconnect_min = milliseconds(100);
    s.reconnect_max = milliseconds(500);
    s.reconnect_spread = milliseconds(300);
    Backoff b(reconnect_backoff_settings(s), 3);
    for (unsigned attempt = 0; attempt < 20; ++attempt)
        for (int i = 0; i < 50; ++i) EXPECT_GE(delay_after_loss(b, s.reconnect_spread, attempt).count(), 1000);
}

TEST(MqttReconnect, TheSpreadIsCappedByTheMaximumAndZeroMeansReconnectMin) {
    Backoff capped({.min = milliseconds(1000), .max = milliseconds(5000), .floor = kSameClientIdConnectInterval}, 9);
    for (int i = 0; i < 500; ++i) EXPECT_LE(capped.spread(milliseconds(30000)).count(), 5000);

    Backoff off({.min = milliseconds(2000), .max = milliseconds(120000), .floor = kSameClientIdConnectInterval}, 9);
    for (int i = 0; i < 500; ++i) {
        const auto d = off.spread(milliseconds(0));
        EXPECT_GE(d.count(), 1000);
        EXPECT_LE(d.count(), 2000);
    }
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
