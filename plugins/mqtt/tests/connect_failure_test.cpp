// Which failed connects refuse the identity (connect_failure.hpp): a pure function over what
// paho reports (return code, reason code, paho C's message), as observed against mosquitto,
// localcore and stand-in servers (tests/localcore/connect_refusal_test.cpp).
#include "connect_failure.hpp"

#include <gtest/gtest.h>

#include <string>

namespace iotgw::plugins::mqtt {
namespace {

using Kind = ConnectFailureKind;

constexpr const char* kConnack = "CONNACK return code";
constexpr const char* kTcpTls = "TCP/TLS connect failure";

Kind kind(int rc, int reason, const std::string& message) {
    return classify_connect_failure({rc, reason, message}).kind;
}

TEST(ConnectFailure, AuthorizationRefusalsInTheConnackRefuseTheIdentity) {
    // paho.mqtt.cpp 1.2: the MQTT 5 reason code arrives as the return code, the reason stays 0.
    for (int code : {0x86, 0x87, 0x8A, 0x8C}) {
        EXPECT_EQ(kind(code, 0, kConnack), Kind::not_authorized) << code;
        // Newer paho: the reason code carries it, the return code is paho's generic failure.
        EXPECT_EQ(kind(-1, code, kConnack), Kind::not_authorized) << code;
        EXPECT_EQ(classify_connect_failure({code, 0, kConnack}).connack, code);
    }
    // MQTT 3.1.1: bad user name or password, not authorized (the reason is paho.mqtt.cpp's 0xFF marker).
    EXPECT_EQ(kind(4, 0xFF, kConnack), Kind::not_authorized);
    EXPECT_EQ(kind(5, 0xFF, kConnack), Kind::not_authorized);
    EXPECT_TRUE(refuses_identity(Kind::not_authorized));
}

TEST(ConnectFailure, ABusyOrThrottlingBrokerSaysNothingAboutTheIdentity) {
    EXPECT_EQ(kind(0x97, 0, kConnack), Kind::throttled);  // quota exceeded: AWS's throttle
    EXPECT_EQ(kind(0x9F, 0, kConnack), Kind::throttled);  // connection rate exceeded
    EXPECT_EQ(kind(-1, 0x97, kConnack), Kind::throttled);
    EXPECT_EQ(kind(0x88, 0, kConnack), Kind::server_unavailable);
    EXPECT_EQ(kind(0x89, 0, kConnack), Kind::server_unavailable);
    EXPECT_EQ(kind(3, 0xFF, kConnack), Kind::server_unavailable);  // 3.1.1 server unavailable
    EXPECT_FALSE(refuses_identity(Kind::throttled));
    EXPECT_FALSE(refuses_identity(Kind::server_unavailable));
}

TEST(ConnectFailure, OtherConnackRefusalsAreNotCuredByANewCertificate) {
    for (int code : {0x80, 0x81, 0x82, 0x84, 0x85, 0x95, 0x9C, 0x9D})
        EXPECT_EQ(kind(code, 0, kConnack), Kind::connack_refused) << code;
    EXPECT_EQ(kind(1, 0xFF, kConnack), Kind::connack_refused);  // protocol version
    EXPECT_EQ(kind(2, 0xFF, kConnack), Kind::connack_refused);  // identifier rejected
    EXPECT_FALSE(refuses_identity(Kind::connack_refused));
}

TEST(ConnectFailure, AHangUpAfterConnectIsHowAwsRefusesAnInactiveOrRevokedCertificate) {
    EXPECT_EQ(kind(-1, 0, "TCP connect completion failure"), Kind::closed_before_connack);
    EXPECT_EQ(kind(-1, 0xFF, "TCP connect completion failure"), Kind::closed_before_connack);
    EXPECT_TRUE(refuses_identity(Kind::closed_before_connack));
}

TEST(ConnectFailure, NetworkFailuresAndTimeoutsDoNotRefuseTheIdentity) {
    EXPECT_EQ(kind(-1, 0, kTcpTls), Kind::network);  // TCP refused, TLS reset or alert
    EXPECT_EQ(kind(-1, 0, ""), Kind::network);       // DNS failure: paho gives no message
    EXPECT_EQ(kind(-1, 0, "TCP connect timeout"), Kind::timeout);
    EXPECT_EQ(kind(-3, 0, ""), Kind::network);  // disconnected
    EXPECT_FALSE(refuses_identity(Kind::network));
    EXPECT_FALSE(refuses_identity(Kind::timeout));
    EXPECT_FALSE(refuses_identity(Kind::client_error));
    EXPECT_EQ(classify_connect_failure({-1, 0, kTcpTls}).connack, 0);
}

TEST(ConnectFailure, CredentialsThatCannotBeUsedCount) {
    // Not the broker's verdict, but a certificate this gateway cannot use needs replacing all the same.
    EXPECT_TRUE(refuses_identity(Kind::credentials_unusable));
}

TEST(ConnectFailure, TheLinkEventAndTheLogNameWhatHappened) {
    EXPECT_STREQ(connect_failure_name(Kind::not_authorized), "not_authorized");
    EXPECT_STREQ(connect_failure_name(Kind::closed_before_connack), "closed_before_connack");
    EXPECT_STREQ(connect_failure_name(Kind::throttled), "throttled");
    EXPECT_STREQ(connect_failure_name(Kind::network), "network");
    const ConnectReport v5{0x87, 0, kConnack};
    EXPECT_EQ(describe_connect_failure(classify_connect_failure(v5), v5),
              "the broker refused the connection: CONNACK 0x87 Not authorized");
    const ConnectReport v311{5, 0xFF, kConnack};
    EXPECT_EQ(describe_connect_failure(classify_connect_failure(v311), v311),
              "the broker refused the connection: CONNACK return code 5 (not authorized)");
    const ConnectReport down{-1, 0, kTcpTls};
    EXPECT_EQ(describe_connect_failure(classify_connect_failure(down), down),
              "TCP/TLS connect failure (rc -1)");
}

}  // namespace
}  // namespace iotgw::plugins::mqtt
