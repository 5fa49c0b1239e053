// AWS's Device Shadow quota "Requests per second per thing" (docs/aws-iot-core.md section 4):
// beyond it a request is rejected with 429. localcore's default is AWS's 20;
// plugin_opt_shadow_requests_per_second lowers it (here to 2, so a test can exceed it without a
// burst of 20) or turns it off (0).
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "localcore_fixture.hpp"
#include "scratch_broker.hpp"

namespace localcore::conformance {
namespace {

using Received = TestMqttClient::Received;
const std::string kGet = "$aws/things/AMR-001/shadow/get";

struct Outcome {
    int accepted = 0, throttled = 0, other = 0;
    double seconds = 0;  // how long the requests took to send
};

// Sends `count` shadow GETs back to back as AMR-001 and sorts the replies by their clientToken.
Outcome burst_of_gets(const LocalCore& lc, const ScratchBroker& broker, int count) {
    TestMqttClient device(TestMqttClient::Endpoint{"localhost", broker.port(), lc.ca(), lc.amr1.cert, lc.amr1.key},
                          "AMR-001");
    if (!device.connect()) {
        ADD_FAILURE() << "AMR-001 could not connect: " << device.last_error() << "\n" << broker.log();
        return {};
    }
    device.subscribe("$aws/things/AMR-001/shadow/get/+");
    Outcome out;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < count; ++i) device.publish(kGet, R"({"clientToken":"g)" + std::to_string(i) + R"("})", 1);
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (int i = 0; i < count; ++i) {
        const std::string token = "g" + std::to_string(i);
        const auto reply = device.wait_for(
            [&](const Received& r) { return json_str(parse_json(r.payload), {"clientToken"}) == token; }, 5s);
        if (!reply) {
            ADD_FAILURE() << "no reply to " << token;
            continue;
        }
        const auto doc = parse_json(reply->payload);
        if (reply->topic == kGet + "/rejected" && json_int(doc, {"code"}) == 429)
            ++out.throttled;
        else if (reply->topic == kGet + "/accepted" ||
                 (reply->topic == kGet + "/rejected" && json_int(doc, {"code"}) == 404))
            ++out.accepted;  // 404: no shadow yet, but the request was served
        else
            ++out.other;
    }
    return out;
}

TEST(ConformanceShadowRate, TheOptionLowersTheRequestRatePerThing) {
    LocalCore lc;
    ScratchBroker broker(lc, {"plugin_opt_shadow_requests_per_second 2"});
    const Outcome o = burst_of_gets(lc, broker, 10);
    EXPECT_EQ(o.accepted + o.throttled, 10) << o.other << " other replies";
    // A burst of 2, then 2 more per second while the requests were being sent.
    EXPECT_LE(o.accepted, 2 + static_cast<int>(o.seconds * 2) + 1) << o.seconds << " s";
    EXPECT_GT(o.throttled, 0);
}

TEST(ConformanceShadowRate, ZeroTurnsTheLimitOff) {
    // 30 back to back: over AWS's 20 per second unless sending them took more than a second.
    LocalCore lc;
    ScratchBroker broker(lc, {"plugin_opt_shadow_requests_per_second 0"});
    const Outcome o = burst_of_gets(lc, broker, 30);
    EXPECT_EQ(o.accepted, 30) << o.throttled << " throttled, " << o.other << " other";
}

}  // namespace
}  // namespace localcore::conformance
