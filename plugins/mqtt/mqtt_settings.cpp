#include "mqtt_settings.hpp"

#include "topic_rules.hpp"

#include <iotgw/sdk/errors.hpp>
#include <iotgw/sdk/topic.hpp>

#include <algorithm>

namespace iotgw::plugins::mqtt {
namespace {

MqttSettings read_settings(const sdk::Config& cfg) {
    MqttSettings s;
    s.endpoint = cfg.string("endpoint");
    s.port = static_cast<int>(cfg.integer("port"));
    s.alpn = effective_alpn(cfg.string("alpn"), s.port);
    s.credentials = cfg.string("credentials");
    s.client_id = cfg.string("client_id");
    s.mqtt5 = cfg.string("mqtt_version") == "5";
    s.clean_start = cfg.boolean("clean_start");
    s.session_expiry = cfg.duration("session_expiry");
    s.keepalive = cfg.duration("keepalive");
    s.connect_timeout = cfg.duration("connect_timeout");
    s.subscribe_qos = static_cast<int>(cfg.integer("subscribe_qos"));
    s.will.enabled = cfg.boolean("will");
    s.will.topic = cfg.string("will_topic");
    s.will.payload = cfg.string("will_payload");
    s.will.qos = static_cast<int>(cfg.integer("will_qos"));
    s.will.retain = cfg.boolean("will_retain");
    s.publish_on_stop = cfg.boolean("publish_on_stop");
    s.reconnect_min = cfg.duration("reconnect_min");
    s.reconnect_max = cfg.duration("reconnect_max");
    // No schema default: unset, it follows reconnect_max down, so a config with a short maximum
    // (tests, a bench) stays valid; set, it must fit (check_settings).
    s.reconnect_spread = cfg.has("reconnect_spread") ? cfg.duration("reconnect_spread")
                                                     : std::min(kDefaultReconnectSpread, s.reconnect_max);
    s.takeover_backoff = cfg.duration("takeover_backoff");
    s.offline_queue_messages = cfg.integer("offline_queue_messages");
    s.offline_queue_bytes = cfg.integer("offline_queue_bytes");
    s.drop_newest = cfg.string("offline_drop") == "newest";
    s.sync_client = cfg.string("client") == "paho-sync";
    s.publish_rate_per_second = static_cast<int>(cfg.integer("publish_rate_per_second"));
    s.topic_scope = cfg.strings("topic_scope");
    return s;
}

}  // namespace

std::string effective_alpn(const std::string& configured, int port) {
    if (configured.empty() && port == 443) return "x-amzn-mqtt-ca";
    return configured;
}

std::vector<SettingsError> check_settings(const MqttSettings& s) {
    std::vector<SettingsError> errors;
    if (s.endpoint.empty()) errors.push_back({"endpoint", "'endpoint' must name the broker host"});
    if (s.endpoint.find_first_of(":/ ") != std::string::npos)
        errors.push_back({"endpoint", "'endpoint' must be a bare host name ('" + s.endpoint +
                                          "'): put the port in 'port', no scheme, no path"});
    if (auto why = check_client_id(s.client_id))
        errors.push_back({"client_id", *why + " ('" + s.client_id + "')"});
    if (s.reconnect_max < s.reconnect_min)
        errors.push_back({"reconnect_max", "'reconnect_max' must not be shorter than 'reconnect_min'"});
    if (s.reconnect_spread > s.reconnect_max)
        errors.push_back({"reconnect_spread",
                          "'reconnect_spread' must not be longer than 'reconnect_max' (no attempt waits longer "
                          "than the maximum)"});
    for (const auto& filter : s.topic_scope)
        if (auto why = sdk::validate_topic_filter(filter))
            errors.push_back(
                {"topic_scope", "topic_scope: '" + filter + "' is not a valid topic filter: " + *why});
    if (s.will.enabled) {
        if (auto why = check_publish_topic(s.will.topic, s.topic_scope))
            errors.push_back({"will_topic", "will_topic '" + s.will.topic + "' " + *why});
        if (s.will.payload.size() > kMaxPayloadBytes)
            errors.push_back({"will_payload", "will_payload is larger than AWS IoT's 128 KiB limit"});
    }
    return errors;
}

MqttSettings parse_settings(const sdk::Config& cfg) {
    MqttSettings s = read_settings(cfg);
    if (const auto errors = check_settings(s); !errors.empty())
        throw sdk::ConfigError(errors.front().message);
    return s;
}

}  // namespace iotgw::plugins::mqtt
