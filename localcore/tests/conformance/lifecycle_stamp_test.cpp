// Presence events are stamped when the connection is accepted, as AWS stamps them, not when the
// plugin publishes them: mosquitto 2.0 gives a plugin no "connected" event, so localcore publishes
// "connected" on the TICK that ends the broker's loop pass, and in a burst of CONNECTs (a fleet
// reconnecting after a broker restart) that pass is long. The broker is paused (SIGSTOP) while a
// burst of CONNECTs is sent, so that it authenticates them all in one pass; each event's timestamp
// must not be later than the moment its client had the CONNACK (same machine, same clock:
// authentication precedes the CONNACK, so this holds without any timing margin).
#include <chrono>
#include <map>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "localcore_fixture.hpp"
#include "raw_mqtt.hpp"
#include "scratch_broker.hpp"

namespace localcore::conformance {
namespace {

std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

TEST(ConformanceLifecycleStamp, ConnectedEventsOfABurstCarryTheirOwnConnectTime) {
    constexpr int kBurst = 40;
    LocalCore lc;
    ScratchBroker broker(lc);
    const RawMqttConnection::Options console{broker.port(), lc.ca(), lc.console.cert, lc.console.key, false};

    RawMqttConnection observer(console);
    ASSERT_EQ(observer.open(), "");
    observer.send(raw::connect_packet(raw::connect_as("console-observer")));
    const auto connack = observer.read_packet();
    ASSERT_TRUE(connack && connack->type() == raw::kConnack) << broker.log();
    observer.send(raw::subscribe_packet(1, "$aws/events/presence/connected/+", 0, 4));
    for (;;) {  // its own connected event may come before the SUBACK
        const auto p = observer.read_packet();
        ASSERT_TRUE(p) << "no SUBACK\n" << broker.log();
        if (p->type() == raw::kSuback) break;
    }

    std::vector<std::unique_ptr<RawMqttConnection>> burst;
    for (int i = 0; i < kBurst; ++i) {
        burst.push_back(std::make_unique<RawMqttConnection>(console));
        ASSERT_EQ(burst.back()->open(), "");
    }
    broker.pause();
    for (int i = 0; i < kBurst; ++i)
        ASSERT_TRUE(burst[i]->send(raw::connect_packet(raw::connect_as("console-burst-" + std::to_string(i)))));
    broker.resume();
    std::map<std::string, std::int64_t> connack_at;  // client id -> when its CONNACK was read
    for (int i = 0; i < kBurst; ++i) {
        const auto p = burst[i]->read_packet();
        ASSERT_TRUE(p && p->type() == raw::kConnack) << "client " << i << "\n" << broker.log();
        connack_at["console-burst-" + std::to_string(i)] = wall_ms();
    }

    const std::string prefix = "$aws/events/presence/connected/";
    std::size_t checked = 0;
    while (checked < connack_at.size()) {
        const auto p = observer.read_packet();
        ASSERT_TRUE(p) << "only " << checked << " connected events\n" << broker.log();
        if (p->type() != raw::kPublish || p->body.size() < 2) continue;
        const std::size_t topic_length = (std::uint8_t(p->body[0]) << 8) | std::uint8_t(p->body[1]);
        const std::string topic = p->body.substr(2, topic_length);
        const auto it = connack_at.find(topic.substr(prefix.size()));
        if (!topic.starts_with(prefix) || it == connack_at.end()) continue;
        const auto event = parse_json(p->body.substr(2 + topic_length));
        const auto timestamp = json_int(event, {"timestamp"});
        ASSERT_TRUE(timestamp) << p->body;
        EXPECT_LE(*timestamp, it->second) << it->first << ": the event is stamped after the client had its CONNACK";
        ++checked;
    }
}

}  // namespace
}  // namespace localcore::conformance
