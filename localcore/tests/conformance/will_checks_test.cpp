// The Last Will is checked exactly like a PUBLISH from its client (docs/aws-iot-core.md section
// 3.6): a Will on a topic only the services publish on (shadow responses, fleet provisioning replies,
// lifecycle events), or a retained Will on a `$` topic, is never published and never stored. The
// device policy allows Publish and RetainPublish on $aws/things/<thing>/*, so only localcore's own
// rules stand between a device and a forged, persisted shadow delta.
#include <gtest/gtest.h>

#include "localcore_fixture.hpp"
#include "raw_mqtt.hpp"

namespace localcore::conformance {
namespace {

using ConformanceWill = LocalCoreTest;

constexpr const char* kDelta = "$aws/things/AMR-001/shadow/name/robot/update/delta";

// Subscribes to and receives everything under $aws/things/* and amr/*: a console or the gateway.
const char* const kWatcherPolicy = R"({
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": ["iot:Connect"], "Resource": ["arn:aws:iot:*:*:client/watcher-*"]},
    {"Effect": "Allow", "Action": ["iot:Subscribe"],
     "Resource": ["arn:aws:iot:*:*:topicfilter/$aws/things/*", "arn:aws:iot:*:*:topicfilter/amr/*"]},
    {"Effect": "Allow", "Action": ["iot:Receive"],
     "Resource": ["arn:aws:iot:*:*:topic/$aws/things/*", "arn:aws:iot:*:*:topic/amr/*"]}
  ]
})";

// AMR-001 connected with `will` over a raw MQTT 3.1.1 connection (CONNACK checked).
std::unique_ptr<RawMqttConnection> connect_with_will(LocalCore& lc, const raw::Will& will) {
    auto c = std::make_unique<RawMqttConnection>(
        RawMqttConnection::Options{lc.port(), lc.ca(), lc.amr1.cert, lc.amr1.key, false});
    const std::string error = c->open();
    if (!error.empty()) {
        ADD_FAILURE() << error;
        return nullptr;
    }
    raw::Connect connect = raw::connect_as("AMR-001");
    connect.will = will;
    c->send(raw::connect_packet(connect));
    const auto connack = c->read_packet();
    if (!connack || connack->type() != raw::kConnack || connack->body.size() < 2 || connack->body[1] != 0) {
        ADD_FAILURE() << "AMR-001 with a Will on " << will.topic << " was not accepted\n" << lc.broker_log();
        return nullptr;
    }
    return c;
}

// Whether `sub` got anything on `topic`, read after `marker` (published after the event under test)
// has arrived: the broker has handled everything before it.
bool got_before_marker(LocalCore& lc, Subscriber& sub, const std::string& topic, const std::string& marker) {
    EXPECT_EQ(lc.pub(lc.amr2, "AMR-002", marker, "marker", 1).status, 0);
    EXPECT_TRUE(sub.wait_topic(marker)) << sub.output();
    for (const auto& m : sub.messages())
        if (m.topic == topic) return true;
    return false;
}

TEST_F(ConformanceWill, ARetainedWillOnAShadowDeltaIsNeitherSentNorStored) {
    lc->put_policy("watcher", kWatcherPolicy);
    const Identity watcher = lc->issue_claim_cert("watcher", "watcher");
    auto live = lc->sub(watcher, "watcher-live", {kDelta, "amr/AMR-002/marker-1"}, 30);

    auto device = connect_with_will(*lc, {kDelta, R"({"state":{"forged":true}})", 1, true});
    ASSERT_TRUE(device);
    device->drop();  // no DISCONNECT: the broker sends the Will (or should refuse to)

    EXPECT_FALSE(got_before_marker(*lc, *live, kDelta, "amr/AMR-002/marker-1")) << live->output();
    EXPECT_TRUE(lc->wait_broker_log("Will of 'AMR-001' on '" + std::string(kDelta) + "' not sent"))
        << lc->broker_log();

    // Nothing was retained: a later subscriber gets no delta either (a retained message comes right
    // after the SUBACK, before the marker).
    auto late = lc->sub(watcher, "watcher-late", {kDelta, "amr/AMR-002/marker-2"}, 30);
    EXPECT_FALSE(got_before_marker(*lc, *late, kDelta, "amr/AMR-002/marker-2")) << late->output();
}

TEST_F(ConformanceWill, ARetainedWillOnADollarTopicTheDeviceMayPublishOnIsNotSent) {
    // The shadow update request topic: AMR-001 may publish there, but nothing is retained on `$`.
    const std::string update = "$aws/things/AMR-001/shadow/name/robot/update";
    lc->put_policy("watcher", kWatcherPolicy);
    const Identity watcher = lc->issue_claim_cert("watcher", "watcher");

    auto device = connect_with_will(*lc, {update, R"({"state":{"reported":{"x":1}}})", 1, true});
    ASSERT_TRUE(device);
    device->drop();
    EXPECT_TRUE(lc->wait_broker_log("Will of 'AMR-001' on '" + update + "' not sent")) << lc->broker_log();

    auto late = lc->sub(watcher, "watcher-late", {update, "amr/AMR-002/marker"}, 30);
    EXPECT_FALSE(got_before_marker(*lc, *late, update, "amr/AMR-002/marker")) << late->output();
}

TEST_F(ConformanceWill, AWillAllowedByThePolicyIsStillSentAndRetained) {
    // The control: the gateway's own Will (retained offline status on its AMR topic).
    lc->put_policy("watcher", kWatcherPolicy);
    const Identity watcher = lc->issue_claim_cert("watcher", "watcher");
    auto device = connect_with_will(*lc, {"amr/AMR-001/status", R"({"state":"offline"})", 1, true});
    ASSERT_TRUE(device);
    device->drop();

    auto late = lc->sub(watcher, "watcher-late", {"amr/AMR-001/status"}, 30);
    const auto status = late->wait_topic("amr/AMR-001/status");
    ASSERT_TRUE(status) << late->output() << "\n--- broker log:\n" << lc->broker_log();
    EXPECT_EQ(status->payload, R"({"state":"offline"})");
}

TEST_F(ConformanceWill, ATakeoverRefusingTheOldConnectionsWillStillReportsDuplicateClientId) {
    // On a takeover mosquitto sends the old connection's Will before it closes it: refusing that
    // Will must not turn the lifecycle reason into FORBIDDEN_ACCESS.
    auto console = lc->sub(lc->console, "console-1", {"$aws/events/presence/disconnected/AMR-001"}, 30);
    auto device = connect_with_will(*lc, {kDelta, "{}", 0, false});
    ASSERT_TRUE(device);
    auto second = lc->connect(lc->amr1, "AMR-001");
    ASSERT_TRUE(second);

    const auto event = console->wait_topic("$aws/events/presence/disconnected/AMR-001");
    ASSERT_TRUE(event) << console->output();
    EXPECT_EQ(json_string(parse_json(event->payload), "disconnectReason"), "DUPLICATE_CLIENTID") << event->payload;
    EXPECT_TRUE(lc->wait_broker_log("Will of 'AMR-001' on '" + std::string(kDelta) + "' not sent"))
        << lc->broker_log();
}

}  // namespace
}  // namespace localcore::conformance
