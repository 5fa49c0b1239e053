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

// One try: the request and the takeover's CONNECT reach the paused broker together. Returns false
// when the broker read the CONNECT first (the takeover closed the requester before its request was
// read: nothing to observe); leaked replies are reported as test failures.
bool try_takeover_between_request_and_reply() {
    LocalCore lc;
    ScratchBroker broker(lc);

    RawMqttConnection requester(claim_connection(lc, broker));
    EXPECT_EQ(requester.open(), "");
    requester.send(raw::connect_packet(raw::connect_as("claim-AMR-001")));
    expect_connack_accepted(requester, broker);
    requester.send(raw::subscribe_packet(1, kRejected, 1, 4));
    const auto suback = requester.read_packet();
    EXPECT_TRUE(suback && suback->type() == raw::kSuback && suback->body.back() != '\x80') << broker.log();

    // The takeover's TLS handshake is done on both sides now (TLS 1.2: the client's handshake ends
    // with the server's Finished); its CONNECT is sent while the broker is paused.
    auto taker_options = claim_connection(lc, broker);
    taker_options.tls12 = true;
    RawMqttConnection taker(taker_options);
    EXPECT_EQ(taker.open(), "");
    broker.pause();
    EXPECT_TRUE(requester.send(raw::publish_packet(kRequest, "{}", 0, 0, 4)));  // answered on .../rejected
    EXPECT_TRUE(taker.send(raw::connect_packet(raw::connect_as("claim-AMR-001"))));
    broker.resume();
    expect_connack_accepted(taker, broker);

    // The reply is delivered (or not) before the broker reads anything the taker sends next: every
    // packet before this SUBACK would be the leaked reply. The taker never subscribed to it.
    taker.send(raw::subscribe_packet(1, "$aws/certificates/create-from-csr/json/accepted", 1, 4));
    for (;;) {
        const auto p = taker.read_packet();
        if (!p) {
            ADD_FAILURE() << "no SUBACK\n" << broker.log();
            return true;
        }
        if (p->type() == raw::kSuback) break;
        ADD_FAILURE() << "the taker received a packet of type 0x" << std::hex << int(p->type()) << ": " << p->body;
    }
    // Whether the request was handled before the takeover (else this try proves nothing).
    return broker.wait_log("Received PUBLISH from claim-AMR-001");
}

TEST(ConformanceReplyRouting, ATakeoverBetweenRequestAndReplyDoesNotGetTheReply) {
    // Both packets arrive in one pass of the broker's loop, which usually reads the request first
    // but may read the CONNECT first; a bounded number of tries gets the order the test needs.
    constexpr int kTries = 8;
    int tries = 0;
    while (tries < kTries && !try_takeover_between_request_and_reply() && !HasFailure()) ++tries;
    EXPECT_LT(tries, kTries) << "the broker never read the request before the takeover's CONNECT";
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
