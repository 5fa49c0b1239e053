// The parts of the publish path that decide without I/O: the pace (PublishPacer), where a refused
// message goes back in the queue (OfflineQueue::requeue) and which refusals are retried.
#include "offline_queue.hpp"
#include "publish_pacer.hpp"
#include "publish_refusal.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace iotgw::plugins::mqtt {
namespace {

constexpr int64_t kMs = 1'000'000;

OutMessage msg(const std::string& name) { return OutMessage{"t/" + name, name, 1, false}; }

std::vector<std::string> payloads(OfflineQueue q) {
    std::vector<std::string> out;
    while (!q.empty()) {
        out.push_back(q.front().payload);
        q.pop_front();
    }
    return out;
}

TEST(PublishPacer, ABurstOfOneSecondsWorthThenTheRate) {
    PublishPacer p(10);
    int taken = 0;
    while (p.try_take(1000 * kMs)) ++taken;
    EXPECT_EQ(taken, 10);
    EXPECT_EQ(p.wait_ns(1000 * kMs), 100 * kMs + 1);
    EXPECT_FALSE(p.try_take(1050 * kMs));
    EXPECT_TRUE(p.try_take(1100 * kMs));
    EXPECT_FALSE(p.try_take(1100 * kMs));
    // Never more than one second's worth, however long it was idle.
    taken = 0;
    while (p.try_take(100'000 * kMs)) ++taken;
    EXPECT_EQ(taken, 10);
}

TEST(PublishPacer, ARefusalHalvesThePaceAndItRecoversByATenthPerSecond) {
    PublishPacer p(90);
    EXPECT_TRUE(p.try_take(0));
    p.throttled(10 * kMs);
    EXPECT_EQ(p.rate(), 45);
    EXPECT_FALSE(p.try_take(10 * kMs));  // the bucket is empty after a refusal
    p.throttled(20 * kMs);
    p.throttled(30 * kMs);
    EXPECT_EQ(p.rate(), 11.25);
    EXPECT_TRUE(p.try_take(1030 * kMs));  // one second later: 11.25 + 9
    EXPECT_EQ(p.rate(), 20.25);
    EXPECT_TRUE(p.try_take(100'000 * kMs));
    EXPECT_EQ(p.rate(), 90);  // never above the configured rate
    for (int i = 0; i < 20; ++i) p.throttled((100'001 + i) * kMs);
    EXPECT_EQ(p.rate(), 1);  // never below one per second
}

TEST(OfflineQueueRequeue, RefusedMessagesGoFirstInTheOrderTheyWereSent) {
    OfflineQueue q(10, 1000, OfflineQueue::Drop::oldest);
    q.push(msg("4"));
    q.push(msg("5"));
    EXPECT_TRUE(q.requeue(msg("1")).empty());
    EXPECT_TRUE(q.requeue(msg("2")).empty());
    q.push(msg("6"));
    EXPECT_EQ(payloads(q), (std::vector<std::string>{"1", "2", "4", "5", "6"}));
    // Once the refused ones are sent, the next refusal goes first again.
    q.pop_front();
    q.pop_front();
    q.requeue(msg("3"));
    EXPECT_EQ(payloads(q), (std::vector<std::string>{"3", "4", "5", "6"}));
}

TEST(OfflineQueueRequeue, AFullQueueDropsByItsPolicyAndReportsIt) {
    OfflineQueue oldest(2, 1000, OfflineQueue::Drop::oldest);
    oldest.push(msg("3"));
    oldest.push(msg("4"));
    auto dropped = oldest.requeue(msg("1"));  // the oldest of all: itself
    ASSERT_EQ(dropped.size(), 1u);
    EXPECT_EQ(dropped[0].payload, "1");
    EXPECT_EQ(payloads(oldest), (std::vector<std::string>{"3", "4"}));

    OfflineQueue newest(2, 1000, OfflineQueue::Drop::newest);
    newest.push(msg("3"));
    newest.push(msg("4"));
    dropped = newest.requeue(msg("1"));  // the newest not yet sent makes room
    ASSERT_EQ(dropped.size(), 1u);
    EXPECT_EQ(dropped[0].payload, "4");
    dropped = newest.requeue(msg("2"));
    ASSERT_EQ(dropped.size(), 1u);
    EXPECT_EQ(dropped[0].payload, "3");
    dropped = newest.requeue(msg("9"));  // only refused ones left: the one coming back is newest
    ASSERT_EQ(dropped.size(), 1u);
    EXPECT_EQ(dropped[0].payload, "9");
    EXPECT_EQ(payloads(newest), (std::vector<std::string>{"1", "2"}));
}

TEST(PublishRefusal, QuotaIsAlwaysRetriedNotAuthorizedABoundedNumberOfTimes) {
    for (unsigned sends = 1; sends < 100; ++sends)
        EXPECT_EQ(refusal_action(0x97, sends), RefusalAction::retry);
    for (unsigned sends = 1; sends < kMaxNotAuthorizedSends; ++sends)
        EXPECT_EQ(refusal_action(0x87, sends), RefusalAction::retry);
    EXPECT_EQ(refusal_action(0x87, kMaxNotAuthorizedSends), RefusalAction::drop);
    EXPECT_EQ(refusal_action(0x99, 1), RefusalAction::fail);  // payload format invalid
    EXPECT_EQ(refusal_action(0, 1), RefusalAction::fail);     // paho's own error, no reason code
}

}  // namespace
}  // namespace iotgw::plugins::mqtt
