// The mqtt connection against localcore with AWS's per-connection publish throttle lowered
// (plugin_opt_publish_rate_per_second): a burst of QoS 1 messages above the broker's rate. The
// broker refuses the excess in the PUBACK (0x87 on localcore; AWS sends 0x97), keeps the
// connection, and the gateway must neither lose a refused message silently nor publish one twice.
// The gateway runs in process (GatewayHarness) so its metrics can be read; waits are bounded.
#include "gateway_harness.hpp"
#include "localcore_fixture.hpp"
#include "scratch_broker.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace localcore::conformance {
namespace {

using iotgw::test::GatewayHarness;

constexpr auto kLong = std::chrono::milliseconds(60000);
constexpr const char* kBurstTopic = "amr/AMR-001/burst";

// Connects as observer-* and receives AMR-001's topics: the console's view of the burst.
const char* const kObserverPolicy = R"({
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": ["iot:Connect"], "Resource": ["arn:aws:iot:*:*:client/observer-*"]},
    {"Effect": "Allow", "Action": ["iot:Receive"], "Resource": ["arn:aws:iot:*:*:topic/amr/AMR-001/*"]},
    {"Effect": "Allow", "Action": ["iot:Subscribe"], "Resource": ["arn:aws:iot:*:*:topicfilter/amr/AMR-001/*"]}
  ]
})";

class MqttThrottle : public ::testing::Test {
protected:
    LocalCore lc;
    GatewayHarness h;

    // The gateway as AMR-001 (MQTT 5) with `conn_extra` in its connection, and a tick source
    // publishing `count` QoS 1 messages "1".."count" on kBurstTopic 1 ms apart.
    std::string config(const ScratchBroker& broker, int count, const std::string& conn_extra = "") const {
        return R"(
[gateway]
thing = "AMR-001"
[credentials.dev]
type = "file"
cert = ")" + lc.amr1.cert.string() +
               R"("
key = ")" + lc.amr1.key.string() +
               R"("
ca = ")" + lc.ca().string() +
               R"("
[connections.cloud]
type = "mqtt"
endpoint = "localhost"
port = )" + std::to_string(broker.port()) +
               R"(
credentials = "dev"
mqtt_version = "5"
reconnect_min = "100ms"
reconnect_max = "500ms"
)" + conn_extra +
               R"(
[sources.burst]
type = "tick"
topic = ")" + kBurstTopic +
               R"("
payload = "{seq}"
qos = 1
count = )" + std::to_string(count) +
               R"(
interval = "1ms"
[[pipelines]]
name = "burst"
from = "burst"
to = ["cloud"]
)";
    }

    std::unique_ptr<TestMqttClient> observer(const ScratchBroker& broker) {
        lc.put_policy("observer", kObserverPolicy);
        const Identity id = lc.issue_claim_cert("observer", "observer");
        auto c = std::make_unique<TestMqttClient>(
            TestMqttClient::Endpoint{"localhost", broker.port(), lc.ca(), id.cert, id.key}, "observer-1", 5);
        EXPECT_TRUE(c->connect()) << c->last_error();
        c->subscribe(kBurstTopic);
        return c;
    }

    uint64_t counter(const std::string& name) { return h.gateway().metrics().counter_value(name); }

    // How often each sequence number arrived at the observer.
    static std::map<int, int> arrivals(const TestMqttClient& c) {
        std::map<int, int> out;
        for (const auto& r : c.received())
            if (r.topic == kBurstTopic) ++out[std::stoi(r.payload)];
        return out;
    }
};

TEST_F(MqttThrottle, EveryRefusedQos1MessageIsRetriedUntilAcceptedOrCountedAsDropped) {
    // The broker takes 5 publishes per second; the gateway, at its default pace, sends 30 at once.
    ScratchBroker broker(lc, {"plugin_opt_publish_rate_per_second 5"});
    auto obs = observer(broker);
    ASSERT_TRUE(obs);
    constexpr int kCount = 30;
    ASSERT_EQ(h.start(config(broker, kCount)), "");
    ASSERT_TRUE(h.run_until([&] { return counter("burst.emitted") == kCount; }, kLong)) << h.log().joined();

    // Done when every message was acknowledged or dropped (and counted), and the observer has
    // all acknowledged ones.
    const auto settled = [&] {
        return counter("cloud.published") + counter("cloud.queue_dropped") == kCount &&
               obs->count(kBurstTopic) >= counter("cloud.published");
    };
    ASSERT_TRUE(h.run_until(settled, kLong))
        << counter("cloud.published") << " published, " << counter("cloud.queue_dropped") << " dropped, "
        << obs->count(kBurstTopic) << " received, " << counter("cloud.publish_failed") << " refusals\n"
        << h.log().joined();
    EXPECT_TRUE(broker.wait_log("localcore: throttled PUBLISH on 'amr/AMR-001/burst' from 'AMR-001'"))
        << "the broker never throttled: the test did not exercise a refusal\n"
        << broker.log();

    // Exactly once: each acknowledged message arrived once, and with the drops they add up.
    const auto got = arrivals(*obs);
    for (const auto& [seq, times] : got) {
        EXPECT_GE(seq, 1);
        EXPECT_LE(seq, kCount);
        EXPECT_EQ(times, 1) << "message " << seq << " arrived " << times << " times";
    }
    EXPECT_EQ(got.size(), counter("cloud.published"));
    EXPECT_EQ(got.size() + counter("cloud.queue_dropped"), static_cast<std::size_t>(kCount));
    // Refused messages are throttled, not denied: none should have reached the retry bound.
    EXPECT_EQ(counter("cloud.queue_dropped"), 0u) << h.log().joined();
    EXPECT_EQ(counter("cloud.disconnects"), 0u) << "the throttle must not cost the connection";
}

}  // namespace
}  // namespace localcore::conformance
