#include "connect_failure.hpp"

// MQTTAsync.h declares the paho C functions, MQTTReasonCode_toString among them, extern "C".
#include <MQTTAsync.h>

#include <cstdio>
#include <string_view>

namespace iotgw::plugins::mqtt {
namespace {

// paho.mqtt.c's failure messages (MQTTAsyncUtils.c); the paho Rust binding maps the same strings
// to error kinds of its own, so they are as stable as an API.
constexpr std::string_view kClosedBeforeConnack = "TCP connect completion failure";
constexpr std::string_view kTimeout = "TCP connect timeout";

// paho.mqtt.cpp marks an MQTT 3.1.1 token's reason code with this (MQTTPP_V3_CODE).
constexpr int kNoReason = 0xFF;

// The CONNACK's refusal code, if one came: newer paho carries an MQTT 5 reason code as the
// reason, 1.2 (with paho.mqtt.c 1.3.12) puts it, like a 3.1.1 return code, in the return code.
// paho's own failures are negative.
int connack_code(const ConnectReport& r) {
    if (r.reason >= 0x80 && r.reason < kNoReason) return r.reason;
    return r.rc > 0 ? r.rc : 0;
}

ConnectFailureKind kind_of_connack(int code) {
    switch (code) {
        case 4:     // 3.1.1: bad user name or password
        case 5:     // 3.1.1: not authorized
        case 0x86:  // bad user name or password
        case 0x87:  // not authorized
        case 0x8A:  // banned
        case 0x8C:  // bad authentication method
            return ConnectFailureKind::not_authorized;
        case 0x97:  // quota exceeded (AWS's throttle)
        case 0x9F:  // connection rate exceeded
            return ConnectFailureKind::throttled;
        case 3:     // 3.1.1: server unavailable
        case 0x88:  // server unavailable
        case 0x89:  // server busy
            return ConnectFailureKind::server_unavailable;
        default:
            return ConnectFailureKind::connack_refused;
    }
}

// MQTT 3.1.1's CONNACK return codes (section 3.2.2.3); paho has no words for them.
const char* v311_return_code_text(int code) {
    switch (code) {
        case 1:
            return "unacceptable protocol version";
        case 2:
            return "identifier rejected";
        case 3:
            return "server unavailable";
        case 4:
            return "bad user name or password";
        case 5:
            return "not authorized";
        default:
            return "unknown";
    }
}

}  // namespace

ConnectFailure classify_connect_failure(const ConnectReport& r) {
    ConnectFailure f;
    if (const int code = connack_code(r); code != 0) {
        f.connack = code;
        f.kind = kind_of_connack(code);
    } else if (r.message == kClosedBeforeConnack) {
        f.kind = ConnectFailureKind::closed_before_connack;
    } else if (r.message == kTimeout) {
        f.kind = ConnectFailureKind::timeout;
    } else {
        f.kind = ConnectFailureKind::network;
    }
    return f;
}

bool refuses_identity(ConnectFailureKind kind) {
    switch (kind) {
        case ConnectFailureKind::not_authorized:
        case ConnectFailureKind::closed_before_connack:
        case ConnectFailureKind::credentials_unusable:
            return true;
        case ConnectFailureKind::throttled:
        case ConnectFailureKind::server_unavailable:
        case ConnectFailureKind::connack_refused:
        case ConnectFailureKind::timeout:
        case ConnectFailureKind::network:
        case ConnectFailureKind::client_error:
            return false;
    }
    return false;
}

const char* connect_failure_name(ConnectFailureKind kind) {
    switch (kind) {
        case ConnectFailureKind::not_authorized:
            return "not_authorized";
        case ConnectFailureKind::closed_before_connack:
            return "closed_before_connack";
        case ConnectFailureKind::credentials_unusable:
            return "credentials_unusable";
        case ConnectFailureKind::throttled:
            return "throttled";
        case ConnectFailureKind::server_unavailable:
            return "server_unavailable";
        case ConnectFailureKind::connack_refused:
            return "connack_refused";
        case ConnectFailureKind::timeout:
            return "timeout";
        case ConnectFailureKind::network:
            return "network";
        case ConnectFailureKind::client_error:
            return "client_error";
    }
    return "network";
}

std::string describe_connect_failure(const ConnectFailure& f, const ConnectReport& r) {
    if (f.connack >= 0x80) {
        const char* name = ::MQTTReasonCode_toString(static_cast<MQTTReasonCodes>(f.connack));
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned>(f.connack) & 0xFFu);
        return std::string("the broker refused the connection: CONNACK ") + hex + " " +
               (name != nullptr ? name : "refusal");
    }
    if (f.connack != 0)
        return "the broker refused the connection: CONNACK return code " + std::to_string(f.connack) + " (" +
               v311_return_code_text(f.connack) + ")";
    if (f.kind == ConnectFailureKind::closed_before_connack)
        return "the broker closed the connection after CONNECT without a CONNACK (AWS IoT Core does so for a "
               "certificate that is inactive, revoked or not registered)";
    return (r.message.empty() ? std::string("connect failed") : r.message) + " (rc " + std::to_string(r.rc) +
           ")";
}

}  // namespace iotgw::plugins::mqtt
