// The `plugin_opt_*` settings of the localcore mosquitto plugin, parsed and validated once at load
// time: a wrong option stops the broker with a message naming the option, never a half-working
// emulator.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>

struct mosquitto_opt;

namespace localcore::broker {

// How an unauthorized PUBLISH / SUBSCRIBE is answered to an MQTT 3.1.1 client. AWS does not document
// it; the evidence (docs/aws-iot-core.md section 2.4) says it closes the connection, and in some cases
// sends SUBACK 0x80. MQTT 5 clients always get reason code 0x87.
enum class Mqtt311Denial { disconnect, suback_failure };

struct BrokerOptions {
    std::filesystem::path data_dir;       // plugin_opt_data_dir (required): `localcore init` output
    std::filesystem::path templates_dir;  // plugin_opt_provisioning_templates
    std::string region = "ap-northeast-1";
    std::string account_id = "123456789012";
    Mqtt311Denial mqtt311_denial = Mqtt311Denial::disconnect;
    std::chrono::seconds device_cert_lifetime{365L * 24 * 3600};
    std::chrono::seconds ownership_token_ttl{3600};
    std::chrono::milliseconds registry_poll{250};  // how often the registry is checked for changes
    // AWS closes a SigV4 (MQTT over WSS) connection after 24 hours (docs/aws-iot-core.md section 7);
    // plugin_opt_max_websocket_connection_s shortens it for tests.
    std::chrono::seconds max_websocket_connection{24 * 3600};
    // AWS IoT Core limits (docs/aws-iot-core.md section 3.2).
    std::size_t max_payload_bytes = 128 * 1024;
    std::size_t max_topic_bytes = 256;
    int max_topic_slashes = 7;
    std::size_t max_client_id_bytes = 128;
    // AWS: "Publish requests per second per connection", 100, not adjustable
    // (docs/aws-iot-core.md section 3.2). plugin_opt_publish_rate_per_second lowers it for tests.
    int publish_rate_per_second = 100;
    // AWS Device Shadow quota "Requests per second per thing", 20, not adjustable
    // (ShadowLimits::requests_per_second_per_thing). plugin_opt_shadow_requests_per_second lowers it
    // for tests; 0 turns it off.
    unsigned shadow_requests_per_second = 20;
};

// Throws localcore::Error "plugin_opt_<name>: <what is wrong>; <what to do>".
BrokerOptions parse_broker_options(const mosquitto_opt* options, int count);

}  // namespace localcore::broker
