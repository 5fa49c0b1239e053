// The Device Shadow request rate per thing (AWS quota "Requests per second per thing": 20, per
// thing and not per API): the token bucket on its own, then the 429 reply through the service.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "shadow.hpp"
#include "shadow_test_helpers.hpp"
#include "test_support.hpp"

namespace localcore::shadow_test {
namespace {

using iotgw::test::TempDir;

constexpr std::int64_t kNowMs = 1'700'000'000'000;

TEST(ShadowRateLimiter, ABurstOfTheRateThenOneRequestPerIntervalPerThing) {
    ShadowRateLimiter rate(20, 100);
    for (int i = 0; i < 20; ++i) EXPECT_TRUE(rate.allow("AMR-001", kNowMs)) << "request " << i + 1;
    EXPECT_FALSE(rate.allow("AMR-001", kNowMs));
    EXPECT_FALSE(rate.allow("AMR-001", kNowMs + 49));  // 20/s: one more every 50 ms
    EXPECT_TRUE(rate.allow("AMR-001", kNowMs + 50));
    EXPECT_FALSE(rate.allow("AMR-001", kNowMs + 50));
    // Another thing has its own bucket.
    EXPECT_TRUE(rate.allow("AMR-002", kNowMs + 50));
    // A second of silence refills the whole burst, and no more than it.
    for (int i = 0; i < 20; ++i) EXPECT_TRUE(rate.allow("AMR-001", kNowMs + 60'000)) << "request " << i + 1;
    EXPECT_FALSE(rate.allow("AMR-001", kNowMs + 60'000));
}

TEST(ShadowRateLimiter, AClockGoingBackwardsRefillsNothing) {
    ShadowRateLimiter rate(2, 100);
    EXPECT_TRUE(rate.allow("AMR-001", kNowMs));
    EXPECT_TRUE(rate.allow("AMR-001", kNowMs));
    EXPECT_FALSE(rate.allow("AMR-001", kNowMs - 10'000));
    EXPECT_FALSE(rate.allow("AMR-001", kNowMs + 499));  // still measured from kNowMs
    EXPECT_TRUE(rate.allow("AMR-001", kNowMs + 500));
}

TEST(ShadowRateLimiter, ZeroMeansUnlimited) {
    ShadowRateLimiter rate(0, 1);
    for (int i = 0; i < 1000; ++i) ASSERT_TRUE(rate.allow("thing-" + std::to_string(i % 3), kNowMs));
    EXPECT_EQ(rate.tracked(), 0u);
}

// Many things must not grow the table past its bound, and the things forgotten to make room are
// the least throttled ones: a thing that used up its burst stays throttled.
TEST(ShadowRateLimiter, MemoryIsBoundedAndAThrottledThingIsNotForgotten) {
    ShadowRateLimiter rate(2, 3);
    EXPECT_TRUE(rate.allow("busy", kNowMs));
    EXPECT_TRUE(rate.allow("busy", kNowMs));
    for (int i = 0; i < 10'000; ++i) {
        ASSERT_TRUE(rate.allow("thing-" + std::to_string(i), kNowMs + 1)) << i;
        ASSERT_LE(rate.tracked(), 3u);
    }
    EXPECT_FALSE(rate.allow("busy", kNowMs + 1));
    // Things idle long enough to be full again are dropped first, whatever their number.
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(rate.allow("late-" + std::to_string(i), kNowMs + 5'000));
    EXPECT_LE(rate.tracked(), 3u);
}

class ShadowRateTest : public ::testing::Test {
protected:
    // Reads the one reply of a request (a shadow request gets exactly one on error or get).
    static rapidjson::Document only_reply(const std::vector<OutboundMessage>& out, const std::string& topic) {
        EXPECT_EQ(out.size(), 1u) << topic;
        if (out.size() != 1) return parse("{}");
        EXPECT_EQ(out[0].topic, topic) << out[0].payload;
        return parse(out[0].payload);
    }
    std::vector<OutboundMessage> send(ShadowService& service, const std::string& topic,
                                      const std::string& payload, std::int64_t now_ms = kNowMs) {
        const auto t = localcore::parse_shadow_request_topic(topic);
        if (!t) {
            ADD_FAILURE() << "not a shadow request topic: " << topic;
            return {};
        }
        return service.handle(*t, payload, now_ms);
    }
    TempDir dir_;
};

// The production default: 20 requests per second per thing, classic and named shadows and every
// operation counted together, then 429 on the request's own rejected topic, token echoed.
TEST_F(ShadowRateTest, TheTwentyFirstRequestInASecondIsRejectedWith429) {
    ShadowService service(dir_.path(), ShadowLimits{});
    for (int i = 0; i < 20; ++i) {
        const std::string prefix = i % 2 == 0 ? kClassic : kNamed;
        const std::string op = i % 3 == 0 ? "/update" : "/get";
        const auto out =
            send(service, prefix + op,
                 R"({"state":{"reported":{"i":)" + std::to_string(i) + R"(}},"clientToken":"t"})");
        ASSERT_FALSE(out.empty());
        EXPECT_EQ(out[0].payload.find(R"("code":429)"), std::string::npos)
            << "request " << i + 1 << ": " << out[0].payload;
    }
    const auto throttled =
        send(service, kNamed + "/update", R"({"state":{"reported":{"i":99}},"clientToken":"t21"})");
    ASSERT_EQ(throttled.size(), 1u);
    EXPECT_EQ(throttled[0].topic, kNamed + "/update/rejected");
    EXPECT_EQ(throttled[0].payload,
              R"({"code":429,"message":"Too Many Requests","timestamp":1700000000,"clientToken":"t21"})");
    // Another thing is not affected.
    const auto other = send(service, "$aws/things/AMR-002/shadow/get", "");
    EXPECT_EQ(only_reply(other, "$aws/things/AMR-002/shadow/get/rejected")["code"].GetInt(), 404);
    // 50 ms later one more request of AMR-001 is served.
    const auto later = send(service, kNamed + "/get", "", kNowMs + 50);
    ASSERT_EQ(later.size(), 1u);
    EXPECT_EQ(later[0].topic, kNamed + "/get/accepted");
}

TEST_F(ShadowRateTest, AThrottledUpdateChangesNothingAndTheRateIsConfigurable) {
    ShadowLimits limits;
    limits.requests_per_second_per_thing = 1;
    ShadowService service(dir_.path(), limits);
    const auto first = send(service, kClassic + "/update", R"({"state":{"reported":{"a":1}}})");
    ASSERT_FALSE(first.empty());
    EXPECT_EQ(first[0].topic, kClassic + "/update/accepted");
    const auto second =
        send(service, kClassic + "/update", R"({"state":{"reported":{"a":2}}})", kNowMs + 999);
    EXPECT_EQ(only_reply(second, kClassic + "/update/rejected")["code"].GetInt(), 429);
    const auto got = send(service, kClassic + "/get", "", kNowMs + 1000);
    const auto doc = only_reply(got, kClassic + "/get/accepted");
    EXPECT_EQ(doc["version"].GetInt64(), 1);
    EXPECT_EQ(doc["state"]["reported"]["a"].GetInt(), 1);
}

}  // namespace
}  // namespace localcore::shadow_test
