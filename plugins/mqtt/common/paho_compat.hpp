// The one place that knows paho.mqtt.cpp differs between 1.2.0 (Debian 12) and 1.5.x (Debian 13).
// Everything the plugin does with paho goes through calls that exist, with the same meaning, in
// both; where they differ (option order, token reason codes, constructors) this header decides.
// Checked by compiling against 1.2.0; the 1.5 branches follow the 1.5 headers.
#pragma once

#include <mqtt/async_client.h>

#include <MQTTAsync.h>
#include <MQTTReasonCodes.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace iotgw::plugins::mqtt_conn::paho {

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
inline std::unique_ptr<::mqtt::async_client> make_client(const ClientSettings& s) {
    auto create = ::mqtt::create_options_builder()
                      .mqtt_version(s.mqtt5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1)
                      .send_while_disconnected(false)
                      .max_buffered_messages(s.max_buffered)
                      .finalize();
    return std::make_unique<::mqtt::async_client>(s.server_uri, s.client_id, create);
}

struct TlsSettings {
    std::string trust_store;  // PEM bundle of the server's trust anchors
    std::string cert_chain;
    std::string private_key;
    std::string alpn;  // "" for none
    ::mqtt::ssl_options::error_handler on_error;
};

inline ::mqtt::ssl_options make_ssl(const TlsSettings& t) {
    ::mqtt::ssl_options_builder b;
    // ca_path is avoided on purpose: on 1.2 copying the options leaves it dangling.
    b.trust_store(t.trust_store)
        .key_store(t.cert_chain)
        .private_key(t.private_key)
        .enable_server_cert_auth(true)
        .verify(true)  // host name check; paho's default is off
        .ssl_version(MQTT_SSL_VERSION_TLS_1_2)
        .error_handler(t.on_error);
    if (!t.alpn.empty()) b.alpn_protos(std::vector<std::string>{t.alpn});
    return b.finalize();
}

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
inline ::mqtt::token_ptr connect(::mqtt::async_client& client, const ConnectSettings& c,
                                 ::mqtt::ssl_options ssl, void* context, ::mqtt::iaction_listener& listener) {
    ::mqtt::connect_options_builder b;
    b.mqtt_version(c.mqtt5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1);
    if (c.mqtt5)
        b.clean_start(c.clean_start);
    else
        b.clean_session(c.clean_start);
    // The gateway schedules reconnects itself (backoff with jitter, takeover backoff).
    b.automatic_reconnect(false);
    b.keep_alive_interval(c.keepalive);
    b.connect_timeout(c.connect_timeout);
    if (c.will) b.will(::mqtt::will_options(c.will_topic, c.will_payload, c.will_qos, c.will_retain));
    b.ssl(std::move(ssl));
    ::mqtt::connect_options opts = b.finalize();
    if (c.mqtt5)
        opts.set_properties(::mqtt::properties{
            {::mqtt::property::SESSION_EXPIRY_INTERVAL, static_cast<int>(c.session_expiry.count())}});
    return client.connect(opts, context, listener);  // `opts` outlives the synchronous copy inside
}

inline ::mqtt::const_message_ptr make_message(const std::string& topic, const std::string& payload, int qos,
                                              bool retain) {
    return ::mqtt::make_message(topic, payload.data(), payload.size(), qos, retain);
}

// MQTT 5 reason codes below 0x80 are successes (e.g. PUBACK 0x10 "no matching subscribers").
// 1.2's token::wait_for throws for any reason code above 2, 1.5 only for >= 0x80: accept both.
inline bool wait_ok(const ::mqtt::token_ptr& tok, std::chrono::milliseconds limit) {
    if (!tok) return false;
    try {
        return tok->wait_for(limit);
    } catch (const ::mqtt::exception& e) {
        return e.get_return_code() == MQTTASYNC_SUCCESS && e.get_reason_code() < 0x80;
    }
}

inline int reason_code(const ::mqtt::token& tok) { return static_cast<int>(tok.get_reason_code()); }

// Words for a return code and a reason code, from paho C (the same in every version).
inline std::string describe(int rc, int reason) {
    std::string out;
    const char* text = ::MQTTAsync_strerror(rc);
    out = text != nullptr ? text : "error";
    out += " (rc " + std::to_string(rc) + ")";
    if (reason > 0 && reason < 0xFF) {  // MQTT 3.1.1 tokens carry no reason (0 or 0xFF)
        const char* r = ::MQTTReasonCode_toString(static_cast<MQTTReasonCodes>(reason));
        char hex[16];
        std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned>(reason));
        out += std::string(", reason ") + hex + " " + (r != nullptr ? r : "");
    }
    return out;
}

inline bool session_present(const ::mqtt::token& tok) {
    try {
        return tok.get_connect_response().is_session_present();
    } catch (...) {
        return false;
    }
}

// Reason codes of a SUBACK (granted QoS or a failure >= 0x80), held in a stored response.
inline std::vector<int> subscribe_codes(const ::mqtt::token& tok) {
    std::vector<int> out;
    try {
        const auto resp = tok.get_subscribe_response();
        for (auto rc : resp.get_reason_codes()) out.push_back(static_cast<int>(rc));
    } catch (...) {}
    return out;
}

inline bool is_disconnected_error(int rc) { return rc == MQTTASYNC_DISCONNECTED; }

constexpr int kSessionTakenOver = 0x8E;

}  // namespace iotgw::plugins::mqtt_conn::paho
