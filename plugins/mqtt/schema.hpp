// Config schema of the `mqtt` connection. Bounds follow AWS IoT Core's limits (keep-alive 30 s to
// 1200 s, QoS 0/1 only, client ids of at most 128 bytes) so a config that passes `iotgw check`
// also connects to AWS.
#pragma once

#include <iotgw/sdk.hpp>

namespace iotgw::plugins::mqtt {

using iotgw::sdk::Field;

inline constexpr iotgw_config_field kFields[] = {
    Field::string("endpoint",
                  "Broker host name, e.g. xxxxxxxx-ats.iot.ap-northeast-1.amazonaws.com; also the name the "
                  "server certificate must carry.")
        .required(),
    Field::integer("port", "Broker TCP port: 8883 (MQTT over TLS) or 443 (with ALPN).")
        .with_default("8883")
        .at_least(1)
        .at_most(65535),
    Field::string("alpn",
                  "ALPN protocol offered in the TLS handshake; empty: none, except on port 443, where "
                  "\"x-amzn-mqtt-ca\" (what AWS IoT requires there) is used.")
        .with_default("\"\""),
    Field::ref("credentials", IOTGW_KIND_CREDENTIALS,
               "Credentials instance with the client certificate and key.")
        .required(),
    Field::string("client_id",
                  "MQTT client id (1 to 128 bytes, not starting with '$'); two connections with one id "
                  "take each other over.")
        .with_default("\"${thing}\""),
    Field::string("client",
                  "MQTT client library: \"paho-sync\" (paho.mqtt.c's synchronous client on a worker "
                  "thread, the default) or \"paho-async\" (paho.mqtt.cpp, whose receive thread pauses "
                  "up to 100 ms, so replies to calls can arrive that much later; see the plugin's README).")
        .with_default("\"paho-sync\"")
        .one_of("paho-async|paho-sync"),
    Field::string("mqtt_version", "MQTT protocol version.").with_default("\"5\"").one_of("3.1.1|5"),
    Field::boolean("clean_start",
                   "Start a fresh session on every connect; false keeps a persistent session so QoS 1 "
                   "messages sent while the gateway was away are delivered.")
        .with_default("false"),
    Field::duration("session_expiry", "MQTT 5: how long the broker keeps the session after a disconnect.")
        .with_default("\"1h\"")
        .at_least(0)
        .at_most(604800000),
    Field::duration("keepalive", "Keep-alive interval (AWS IoT accepts 30 s to 1200 s).")
        .with_default("\"30s\"")
        .at_least(30000)
        .at_most(1200000),
    Field::integer("subscribe_qos", "QoS of the subscriptions of input endpoints.")
        .with_default("1")
        .at_least(0)
        .at_most(1),
    Field::boolean("will", "Register a Will message, published by the broker when the gateway vanishes.")
        .with_default("true"),
    Field::string("will_topic", "Topic of the Will message.").with_default("\"amr/${thing}/status\""),
    Field::string("will_payload", "Payload of the Will message.")
        .with_default("\"{\\\"state\\\":\\\"offline\\\"}\""),
    Field::integer("will_qos", "QoS of the Will message.").with_default("1").at_least(0).at_most(1),
    Field::boolean("will_retain", "Retain the Will message.").with_default("true"),
    Field::duration("reconnect_min",
                    "Base of the exponential reconnect backoff (full jitter, at least 1 s: AWS accepts one "
                    "CONNECT per second per client id).")
        .with_default("\"1s\"")
        .at_least(1),
    Field::duration("reconnect_max", "Upper bound of the reconnect backoff.")
        .with_default("\"2m\"")
        .at_least(1),
    // No default in the schema: unset it is 30 s or reconnect_max if shorter (mqtt_settings.cpp).
    Field::duration(
        "reconnect_spread",
        "Window over which the first reconnect after a lost connection is spread (uniformly), so a "
        "fleet cut off at once stays under AWS's connect rate per account: draws start at 1 s, so "
        "at least 1 s + fleet size / connects per second, plus a margin (10,000 AMRs at 500/s: "
        "30 s). Default 30 s (or reconnect_max if shorter); at most reconnect_max; 0: over "
        "reconnect_min.")
        .at_least(0),
    Field::duration("connect_timeout", "Time allowed for TCP, TLS and CONNACK of one attempt.")
        .with_default("\"10s\"")
        .at_least(100),
    Field::duration("takeover_backoff",
                    "Wait (plus up to 50% jitter) after another connection took over the client id, "
                    "so two gateways with one id do not flap forever.")
        .with_default("\"1m\"")
        .at_least(1),
    Field::integer("offline_queue_messages",
                   "Messages kept while disconnected and sent in order after reconnecting.")
        .with_default("1000")
        .at_least(0)
        .at_most(1000000),
    Field::integer("offline_queue_bytes", "Bytes (topic + payload) kept while disconnected.")
        .with_default("1048576")
        .at_least(0)
        .at_most(1073741824),
    Field::integer("publish_rate_per_second",
                   "Most publishes sent per second; more wait in the queue. AWS IoT throttles over 100 per "
                   "second per connection, so keep it below that.")
        .with_default("90")
        .at_least(1)
        .at_most(100),
    Field::string("offline_drop", "Which message a full offline queue drops.")
        .with_default("\"oldest\"")
        .one_of("oldest|newest"),
    Field::strings("topic_scope",
                   "Topic filters the gateway may publish and subscribe within; anything outside is "
                   "refused.")
        .with_default("[\"amr/${thing}/#\", \"$aws/things/${thing}/#\"]")
        .at_least(1),
    Field::boolean("publish_on_stop",
                   "Publish the Will message before a clean disconnect, so a stopped gateway shows "
                   "offline (a clean DISCONNECT suppresses the broker's Will).")
        .with_default("true"),
};

}  // namespace iotgw::plugins::mqtt
