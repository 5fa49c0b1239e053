// The one place that knows paho.mqtt.cpp differs between 1.2.0 (Debian 12) and 1.5.x (Debian 13).
// Everything the plugin does with paho goes through calls that exist, with the same meaning, in
// both; where they differ (option order, token reason codes, constructors) this header decides.
// Checked by compiling against 1.2.0; the 1.5 branches follow the 1.5 headers.
#pragma once

#include <mqtt/async_client.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace iotgw::plugins::common::paho {

static_assert(::mqtt::VERSION >= 0x01020000u, "paho.mqtt.cpp 1.2 or newer is required");

struct ClientSettings {
    std::string server_uri;  // "ssl://host:port"
    std::string client_id;
    bool mqtt5 = true;
    int max_buffered = 1000;  // paho's own command queue; the plugin queues while offline itself
};

// Both versions take (uri, id, create_options) and use no persistence (state in memory, no files
// in the working directory) when no persistence argument is given. The MQTT version must be set
// at creation: on 1.2 a v5 connect with a client created for v3 fails with -16.
std::unique_ptr<::mqtt::async_client> make_client(const ClientSettings& s);

struct TlsSettings {
    std::string trust_store;  // PEM bundle of the server's trust anchors
    std::string cert_chain;
    std::string private_key;
    std::string alpn;  // "" for none
};

// No SSL error handler, on purpose: async_client::connect() takes its options by value and the C
// library keeps the handler's context pointer, which then points into that dead copy; the first
// OpenSSL error on the connection made paho call through it (SIGSEGV on its receive thread,
// plugins/common/tests/process/paho_tls_failure_test.cpp). Without a handler paho prints
// OpenSSL's reasons to stderr, which is the journal under systemd, next to our own log line.
::mqtt::ssl_options make_ssl(const TlsSettings& t);

struct ConnectSettings {
    bool mqtt5 = true;
    bool clean_start = false;
    std::chrono::seconds session_expiry{3600};
    std::chrono::seconds keepalive{30};
    std::chrono::milliseconds connect_timeout{10000};
    bool will = false;
    std::string will_topic;
    std::string will_payload;
    int will_qos = 1;
    bool will_retain = true;
};

// Order matters: the version first, then clean start/session, then properties (1.2 throws -15
// on a mismatch, 1.5 silently resumes the session or drops the property). The properties are set
// on the very object handed to connect(), which copies it: 1.2's copy constructor leaves the
// copy's C properties pointer aimed at the source (a finalize()d builder's copy would dangle).
::mqtt::token_ptr connect(::mqtt::async_client& client, const ConnectSettings& c, ::mqtt::ssl_options ssl,
                          void* context, ::mqtt::iaction_listener& listener);

// expiry_s: the MQTT 5 Message Expiry Interval; only on an MQTT 5 connection (paho refuses
// properties on a 3.1.1 one).
::mqtt::const_message_ptr make_message(const std::string& topic, const std::string& payload, int qos,
                                       bool retain, std::optional<uint32_t> expiry_s = std::nullopt);

// The Message Expiry Interval a received message carries (MQTT 5; for a retained message, what
// the broker says is left of it), nullopt when it has none.
std::optional<uint32_t> message_expiry(const ::mqtt::message& msg);

// MQTT 5 reason codes below 0x80 are successes (e.g. PUBACK 0x10 "no matching subscribers").
// 1.2's token::wait_for throws for any reason code above 2, 1.5 only for >= 0x80: accept both.
bool wait_ok(const ::mqtt::token_ptr& tok, std::chrono::milliseconds limit);

int reason_code(const ::mqtt::token& tok);

// Words for a return code and a reason code, from paho C (the same in every version).
std::string describe(int rc, int reason);

// Whether the broker kept the session (false when the token carries no CONNACK).
bool session_present(const ::mqtt::token& tok);

// Reason codes of a SUBACK (granted QoS or a failure >= 0x80), held in a stored response.
std::vector<int> subscribe_codes(const ::mqtt::token& tok);

bool is_disconnected_error(int rc);

constexpr int kSessionTakenOver = 0x8E;

}  // namespace iotgw::plugins::common::paho
