#include <iotgw/plugins/common/paho_compat.hpp>

#include <MQTTAsync.h>
#include <MQTTReasonCodes.h>

#include <cstdio>
#include <utility>

namespace iotgw::plugins::common::paho {

std::unique_ptr<::mqtt::async_client> make_client(const ClientSettings& s) {
    auto create = ::mqtt::create_options_builder()
                      .mqtt_version(s.mqtt5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1)
                      .send_while_disconnected(false)
                      .max_buffered_messages(s.max_buffered)
                      .finalize();
    return std::make_unique<::mqtt::async_client>(s.server_uri, s.client_id, create);
}

::mqtt::ssl_options make_ssl(const TlsSettings& t) {
    ::mqtt::ssl_options_builder b;
    // ca_path is avoided on purpose: on 1.2 copying the options leaves it dangling.
    b.trust_store(t.trust_store)
        .key_store(t.cert_chain)
        .private_key(t.private_key)
        .enable_server_cert_auth(true)
        .verify(true)  // host name check; paho's default is off
        .ssl_version(MQTT_SSL_VERSION_TLS_1_2);
    if (!t.alpn.empty()) b.alpn_protos(std::vector<std::string>{t.alpn});
    return b.finalize();
}

::mqtt::token_ptr connect(::mqtt::async_client& client, const ConnectSettings& c, ::mqtt::ssl_options ssl,
                          void* context, ::mqtt::iaction_listener& listener) {
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

::mqtt::const_message_ptr make_message(const std::string& topic, const std::string& payload, int qos,
                                       bool retain, std::optional<uint32_t> expiry_s) {
    ::mqtt::message_ptr msg = ::mqtt::make_message(topic, payload.data(), payload.size(), qos, retain);
    // 1.2 has neither make_message with properties nor a uint32_t property constructor; the
    // value is a four-byte unsigned integer on the wire either way.
    if (expiry_s)
        msg->set_properties(
            ::mqtt::properties{{::mqtt::property::MESSAGE_EXPIRY_INTERVAL, static_cast<int32_t>(*expiry_s)}});
    return msg;
}

std::optional<uint32_t> message_expiry(const ::mqtt::message& msg) {
    const ::mqtt::properties& props = msg.get_properties();
    if (!props.contains(::mqtt::property::MESSAGE_EXPIRY_INTERVAL)) return std::nullopt;
    return ::mqtt::get<uint32_t>(props, ::mqtt::property::MESSAGE_EXPIRY_INTERVAL);
}

bool wait_ok(const ::mqtt::token_ptr& tok, std::chrono::milliseconds limit) {
    if (!tok) return false;
    try {
        return tok->wait_for(limit);
    } catch (const ::mqtt::exception& e) {
        return e.get_return_code() == MQTTASYNC_SUCCESS && e.get_reason_code() < 0x80;
    }
}

int reason_code(const ::mqtt::token& tok) { return static_cast<int>(tok.get_reason_code()); }

std::string describe(int rc, int reason) {
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

bool session_present(const ::mqtt::token& tok) {
    try {
        return tok.get_connect_response().is_session_present();
    } catch (...) {
        return false;
    }
}

std::vector<int> subscribe_codes(const ::mqtt::token& tok) {
    std::vector<int> out;
    try {
        const auto resp = tok.get_subscribe_response();
        for (auto rc : resp.get_reason_codes()) out.push_back(static_cast<int>(rc));
    } catch (...) {}
    return out;
}

bool is_disconnected_error(int rc) { return rc == MQTTASYNC_DISCONNECTED; }

}  // namespace iotgw::plugins::common::paho
