// AWS refuses PUBLISH payloads over 128 KB (docs/aws-iot-core.md section 3.2). The plugin checks the
// payload only once mosquitto has read the whole packet, and the websocket listener has no client
// certificate in front of it: so the generated mosquitto.conf caps the packet size, and mosquitto
// closes a connection as soon as a packet header announces more, before buffering the packet.
#include <gtest/gtest.h>

#include <chrono>

#include "console_token.hpp"
#include "raw_mqtt.hpp"
#include "scratch_broker.hpp"

namespace localcore::conformance {
namespace {

// A PUBLISH header announcing 1 MiB, followed by only its first KiB.
std::string oversized_publish_start(int version) {
    const std::string topic = "amr/AMR-001/telemetry";
    std::string p = "\x30" + raw::encode_remaining_length(1 << 20);
    p += std::string{static_cast<char>(topic.size() >> 8), static_cast<char>(topic.size() & 0xFF)} + topic;
    if (version == 5) p.push_back('\0');
    return p + std::string(1024, 'x');
}

void expect_closed_without_the_rest(RawMqttConnection& c, const ScratchBroker& broker) {
    ASSERT_TRUE(c.send(oversized_publish_start(5)));
    // MQTT 5: mosquitto says why (DISCONNECT 0x95, packet too large) and closes.
    const auto p = c.read_packet(std::chrono::seconds(5));
    if (p) {
        EXPECT_EQ(p->type(), raw::kDisconnect);
        EXPECT_EQ(p->body.empty() ? -1 : static_cast<std::uint8_t>(p->body[0]), 0x95);
    }
    EXPECT_TRUE(c.wait_closed(std::chrono::seconds(5)))
        << "the broker kept the connection open, waiting for the rest of a 1 MiB packet\n" << broker.log();
}

TEST(ConformancePacketSize, AnOversizedPacketOnTheTlsListenerIsRefusedBeforeItIsBuffered) {
    LocalCore lc;
    ScratchBroker broker(lc);
    RawMqttConnection c({broker.port(), lc.ca(), lc.amr1.cert, lc.amr1.key, false});
    ASSERT_EQ(c.open(), "");
    c.send(raw::connect_packet(raw::connect_as("AMR-001", 5)));
    const auto connack = c.read_packet();
    ASSERT_TRUE(connack && connack->type() == raw::kConnack && connack->body[1] == 0) << broker.log();

    // The control: a PUBLISH at the AWS limits (128 KiB payload, 256-byte topic) still fits.
    std::string topic = "amr/AMR-001/";
    topic += std::string(256 - topic.size(), 't');
    c.send(raw::publish_packet(topic, std::string(128 * 1024, 'x'), 1, 7, 5));
    const auto puback = c.read_packet();
    ASSERT_TRUE(puback && puback->type() == raw::kPuback) << broker.log();
    // Success, or 0x10 "no matching subscribers" (nobody subscribed): anything below 0x80.
    EXPECT_TRUE(puback->body.size() < 3 || static_cast<std::uint8_t>(puback->body[2]) < 0x80)
        << "PUBACK reason " << int(static_cast<std::uint8_t>(puback->body[2]));

    expect_closed_without_the_rest(c, broker);
}

// mosquitto 2.0's websocket path ignores max_packet_size (websockets.c allocates whatever length a
// packet header announces and waits for it): there, the plugin's payload check, once the packet is
// complete, is what refuses it. The listener is bound to loopback only.
TEST(ConformancePacketSize, AnOversizedPublishOnTheWebsocketListenerClosesTheConnection) {
    LocalCore lc;
    ScratchBroker broker(lc);
    RawMqttConnection c({broker.ws_port(), lc.ca(), {}, {}, true});
    ASSERT_EQ(c.open(), "");
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    const std::string token = issue_console_token(lc.data_dir(), "console", "console-", std::chrono::hours(1), now);
    raw::Connect login = raw::connect_as("console-ws-1", 5);
    login.user_name = "console-token";
    login.password = token;
    c.send(raw::connect_packet(login));
    const auto connack = c.read_packet();
    ASSERT_TRUE(connack && connack->type() == raw::kConnack && connack->body[1] == 0) << broker.log();

    ASSERT_TRUE(c.send(raw::publish_packet("amr/AMR-001/cmd/call", std::string(128 * 1024 + 1, 'x'), 1, 3, 5)));
    EXPECT_TRUE(c.wait_closed(std::chrono::seconds(5))) << broker.log();
    EXPECT_TRUE(broker.wait_log("over the AWS limit of 128 KB")) << broker.log();
}

TEST(ConformancePacketSize, TheGeneratedConfigSaysTheCap) {
    LocalCore lc;
    const std::string conf = lc.cli({"mosquitto-conf", "--plugin", LOCALCORE_PLUGIN, "--websockets", "18884"});
    EXPECT_NE(conf.find("\nmax_packet_size 140288\n"), std::string::npos) << conf;
}

}  // namespace
}  // namespace localcore::conformance
