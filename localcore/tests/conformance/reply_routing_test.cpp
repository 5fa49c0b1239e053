// Fleet provisioning replies carry private keys: they go to the very connection that asked, and only
// if it subscribed to the reply topic (docs/aws-iot-core.md section 6). A reply is published one pass
// of the broker's event loop after the request; a connection that takes the client id over in
// between must not get it. The broker is paused (SIGSTOP) while the request and the takeover's
// CONNECT are sent, so that it reads both in the same pass, the request first.
#include <gtest/gtest.h>

#include "raw_mqtt.hpp"
#include "scratch_broker.hpp"

namespace localcore::conformance {
namespace {

constexpr const char* kRequest = "$aws/certificates/create-from-csr/json";
constexpr const char* kRejected = "$aws/certificates/create-from-csr/json/rejected";

RawMqttConnection::Options claim_connection(const LocalCore& lc, const ScratchBroker& broker) {
    return {broker.port(), lc.ca(), lc.claim.cert, lc.claim.key, false};
}

void expect_connack_accepted(RawMqttConnection& c, const ScratchBroker& broker) {
    const auto connack = c.read_packet();
    ASSERT_TRUE(connack && connack->type() == raw::kConnack && connack->body.size() >= 2 && connack->body[1] == 0)
        << broker.log();
}

TEST(ConformanceReplyRouting, ATakeoverBetweenRequestAndReplyDoesNotGetTheReply) {
    LocalCore lc;
    ScratchBroker broker(lc);

    RawMqttConnection requester(claim_connection(lc, broker));
    ASSERT_EQ(requester.open(), "");
    requester.send(raw::connect_packet(raw::connect_as("claim-AMR-001")));
    expect_connack_accepted(requester, broker);
    requester.send(raw::subscribe_packet(1, kRejected, 1, 4));
    const auto suback = requester.read_packet();
    ASSERT_TRUE(suback && suback->type() == raw::kSuback && suback->body.back() != '\x80') << broker.log();

    // The takeover's TLS handshake is done now; its CONNECT is sent while the broker is paused.
    RawMqttConnection taker(claim_connection(lc, broker));
    ASSERT_EQ(taker.open(), "");
    broker.pause();
    ASSERT_TRUE(requester.send(raw::publish_packet(kRequest, "{}", 0, 0, 4)));  // answered on .../rejected
    ASSERT_TRUE(taker.send(raw::connect_packet(raw::connect_as("claim-AMR-001"))));
    broker.resume();
    expect_connack_accepted(taker, broker);

    // The reply is delivered (or not) before the broker reads anything the taker sends next: every
    // packet before this SUBACK would be the leaked reply. The taker never subscribed to it.
    taker.send(raw::subscribe_packet(1, "$aws/certificates/create-from-csr/json/accepted", 1, 4));
    for (;;) {
        const auto p = taker.read_packet();
        ASSERT_TRUE(p) << "no SUBACK\n" << broker.log();
        if (p->type() == raw::kSuback) break;
        ADD_FAILURE() << "the taker received a packet of type 0x" << std::hex << int(p->type()) << ": " << p->body;
    }
    // The request was handled before the takeover (else this test proves nothing).
    EXPECT_TRUE(broker.wait_log("Received PUBLISH from claim-AMR-001")) << broker.log();
}

TEST(ConformanceReplyRouting, TheRequesterStillGetsItsReply) {
    LocalCore lc;
    ScratchBroker broker(lc);
    RawMqttConnection requester(claim_connection(lc, broker));
    ASSERT_EQ(requester.open(), "");
    requester.send(raw::connect_packet(raw::connect_as("claim-AMR-001")));
    expect_connack_accepted(requester, broker);
    requester.send(raw::subscribe_packet(1, kRejected, 1, 4));
    ASSERT_TRUE(requester.read_packet());  // SUBACK
    requester.send(raw::publish_packet(kRequest, "{}", 0, 0, 4));
    const auto reply = requester.read_packet();
    ASSERT_TRUE(reply && reply->type() == raw::kPublish) << broker.log();
    EXPECT_NE(reply->body.find(kRejected), std::string::npos) << reply->body;
}

}  // namespace
}  // namespace localcore::conformance
