// Why a connect attempt failed, from what paho reports: did the broker reach a verdict on this
// identity and refuse it, or was it not reached, too slow, or too busy to answer?
//
// The difference matters beyond the log line: fleet_provisioning replaces a certificate the
// broker keeps refusing (revoked, inactive) through the claim certificate, and must not do so
// for an outage or a throttled reconnect storm, which would make a whole fleet re-provision at
// once when the endpoint comes back (the link event's `refusals`, link_event.hpp).
//
// What paho (paho.mqtt.c 1.3.12 under paho.mqtt.cpp 1.2, tested against mosquitto/localcore and
// stand-in servers in tests/localcore/connect_refusal_test.cpp) reports for a failed connect:
//   - a CONNACK refusal: the return code is the CONNACK's code (3.1.1: 1-5; MQTT 5: the reason
//     code, 0x80 and up; newer paho may carry it as the reason code instead), message
//     "CONNACK return code";
//   - TCP refused or unreachable, a TLS handshake that failed (alert, reset, our own check of the
//     server): rc -1, "TCP/TLS connect failure"; a DNS failure: rc -1 and no message;
//   - TLS established and CONNECT sent, then the connection closed without a CONNACK: rc -1,
//     "TCP connect completion failure". AWS IoT Core answers CONNECT this way for a certificate
//     that is INACTIVE or REVOKED (the TLS handshake succeeds, then it hangs up), so this counts;
//   - no answer within connect_timeout: rc -1, "TCP connect timeout".
// A TLS alert the server sends during the handshake (bad_certificate, certificate_revoked,
// unknown_ca, ...) cannot be told from a reset: paho passes OpenSSL's words only to an SSL error
// callback, which the gateway cannot install safely (paho_compat.hpp), so such a refusal is a
// "network" failure and does not count. Under TLS 1.3 the server judges the client certificate
// after the client's side of the handshake is done: when CONNECT is written before the alert
// is read, the same refusal arrives as a close before CONNACK, and counts (mosquitto with a
// certificate from another CA shows both). AWS IoT Core completes the handshake and hangs up
// after CONNECT, which counts.
//
// A refusal of the identity: CONNACK 0x86 bad user name or password, 0x87 not authorized,
// 0x8A banned, 0x8C bad authentication method (3.1.1: 4, 5); a hang-up after CONNECT;
// credentials the provider cannot hand out. Not one: everything that says the broker was not
// reached or is busy (TCP, TLS, DNS, timeouts, CONNACK 0x88/0x89 unavailable or busy, 0x97 quota
// exceeded, 0x9F connection rate exceeded, 3.1.1 code 3), and other CONNACK refusals no new
// certificate would cure (protocol version, client id, packet errors).
// Known limit: under MQTT 3.1.1, where a throttled CONNECT has no reason code, a broker that
// throttles by hanging up looks like a refusal; MQTT 5 (the default) gets 0x97 or 0x9F.
#pragma once

#include <string>

namespace iotgw::plugins::mqtt {

enum class ConnectFailureKind {
    not_authorized,         // CONNACK 0x86, 0x87, 0x8A, 0x8C; 3.1.1 codes 4, 5
    closed_before_connack,  // TLS established, CONNECT sent, closed without a CONNACK (AWS)
    credentials_unusable,   // the credentials provider cannot hand out the certificate
    throttled,              // CONNACK 0x97 quota exceeded, 0x9F connection rate exceeded
    server_unavailable,     // CONNACK 0x88 server unavailable, 0x89 server busy; 3.1.1 code 3
    connack_refused,        // any other CONNACK refusal (protocol version, client id, ...)
    timeout,                // no CONNACK within connect_timeout
    network,                // TCP or TLS failed: refused, unreachable, DNS, reset, TLS alert
    client_error,           // paho refused to start the attempt
};

// What paho said about a failed connect: the token's return code and reason code, and paho C's
// failure message ("" when it gave none).
struct ConnectReport {
    int rc = 0;
    int reason = 0;
    std::string message;
};

struct ConnectFailure {
    ConnectFailureKind kind = ConnectFailureKind::network;
    int connack = 0;  // the CONNACK's refusal code (3.1.1 return code or MQTT 5 reason code); 0: none came
};

ConnectFailure classify_connect_failure(const ConnectReport& report);

// True for the kinds that say the broker refused this identity (they count toward
// fleet_provisioning's recover_after); false for the ones that say nothing about it.
bool refuses_identity(ConnectFailureKind kind);

// The link event's `last_failure`: "not_authorized", "closed_before_connack", ...
const char* connect_failure_name(ConnectFailureKind kind);

// For the log line: what the broker (or the network) did, e.g. "the broker refused the
// connection: CONNACK 0x87 Not authorized".
std::string describe_connect_failure(const ConnectFailure& failure, const ConnectReport& report);

}  // namespace iotgw::plugins::mqtt
