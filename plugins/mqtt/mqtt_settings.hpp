// The `mqtt` instance's settings as a plain struct, and the checks the schema (schema.hpp) cannot
// express: a bare host name, a client id AWS accepts, backoff bounds in order, a topic scope of
// valid filters, a Will inside the scope and within AWS's payload limit. Kept apart from the
// connection (mqtt.cpp) so the checks run in unit tests without a host, a socket or paho.
#pragma once

#include <iotgw/sdk/config.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace iotgw::plugins::mqtt {

// reconnect_spread when not set: 10,000 gateways at AWS's 500 CONNECTs per second per account
// need 20 s of window above the 1 s floor; 30 s (draws over 1-30 s) puts 345 in the average second
// and 380-415 in the busiest (simulated), leaving room for the retries of attempts that found the
// broker still down and for the account's other clients.
inline constexpr std::chrono::milliseconds kDefaultReconnectSpread{30000};

struct WillSettings {
    bool enabled = true;
    std::string topic;
    std::string payload;
    int qos = 1;
    bool retain = true;
};

// One value per schema field (schema.hpp), already range-checked by the core.
struct MqttSettings {
    std::string endpoint;
    int port = 8883;
    std::string alpn;  // after effective_alpn(): "x-amzn-mqtt-ca" on port 443 unless set
    std::string credentials;
    std::string client_id;
    bool sync_client = false;  // client = "paho-sync"
    bool mqtt5 = true;
    bool clean_start = false;
    std::chrono::milliseconds session_expiry{3600000};
    std::chrono::milliseconds keepalive{30000};
    std::chrono::milliseconds connect_timeout{10000};
    int subscribe_qos = 1;
    WillSettings will;
    bool publish_on_stop = true;
    std::chrono::milliseconds reconnect_min{1000};
    std::chrono::milliseconds reconnect_max{120000};
    // After read_settings: the configured value, or kDefaultReconnectSpread when it fits under
    // reconnect_max, else reconnect_max.
    std::chrono::milliseconds reconnect_spread{30000};
    std::chrono::milliseconds takeover_backoff{60000};
    int64_t offline_queue_messages = 1000;
    int64_t offline_queue_bytes = 1048576;
    bool drop_newest = false;  // offline_drop = "newest"
    int publish_rate_per_second = 90;
    std::vector<std::string> topic_scope;
};

// A setting the connection cannot work with: the schema field it is about, and the sentence
// `iotgw check` shows (it names the field itself).
struct SettingsError {
    std::string field;
    std::string message;
};

// ALPN as configured; on port 443 AWS IoT needs "x-amzn-mqtt-ca" to speak MQTT, so an empty
// value means that there.
std::string effective_alpn(const std::string& configured, int port);

// Every problem with `s`, in the order the fields are listed above; empty when it is usable.
std::vector<SettingsError> check_settings(const MqttSettings& s);

// Reads the instance config into MqttSettings (with effective_alpn applied) and checks it;
// throws sdk::ConfigError with the first problem's message.
MqttSettings parse_settings(const sdk::Config& cfg);

}  // namespace iotgw::plugins::mqtt
