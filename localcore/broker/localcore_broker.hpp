// The localcore mosquitto plugin: makes a loopback mosquitto 2.0 behave like AWS IoT Core's
// endpoint for what this system uses (docs/aws-iot-core.md): X.509 authentication against the local
// registry, IoT policy authorization on every operation, AWS limits, the Device Shadow and Fleet
// Provisioning services, lifecycle events and the backend step of certificate rotation.
//
// mosquitto runs every plugin callback on its one main thread, so this object needs no locking.
// No exception may cross into mosquitto: each callback entry point (plugin_entry.cpp) catches.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "broker_options.hpp"
#include "ca.hpp"
#include "outbound_message.hpp"
#include "policy.hpp"
#include "provisioning.hpp"
#include "registry.hpp"
#include "rotation.hpp"
#include "shadow.hpp"

struct mosquitto;
struct mosquitto_evt_basic_auth;
struct mosquitto_evt_acl_check;
struct mosquitto_evt_message;
struct mosquitto_evt_disconnect;

namespace localcore::broker {

// AWS lifecycle `disconnectReason` values this emulator produces.
enum class DisconnectReason {
    client_initiated,
    connection_lost,
    keepalive_timeout,
    duplicate_client_id,
    auth_error,        // the certificate left ACTIVE
    forbidden_access,  // an unauthorized operation closed the connection (MQTT 3.1.1)
    client_error,      // protocol error, a limit exceeded
    server_initiated,
};
std::string_view to_string(DisconnectReason);

// What the broker knows about one authenticated connection.
struct ClientState {
    std::string client_id;
    std::string certificate_id;  // empty for a console-token connection
    // A connection authenticated by a console token (lib/console_token.hpp) instead of a
    // certificate: the token's id (the principal in lifecycle events) and the policy it names.
    std::string token_id;
    std::string token_policy;
    std::string session_id;  // lifecycle sessionIdentifier
    std::string ip_address;
    std::int64_t version_number = 0;  // shared by its connected / disconnected events
    RequestContext policy_context;     // variables for policy evaluation
    PolicySet policies;
    std::vector<std::string> subscriptions;  // allowed filters, for replies "only to the requester"
    std::optional<DisconnectReason> pending_reason;  // set when we close it (kick, takeover)
    bool kicked = false;
    // Lifecycle bookkeeping. mosquitto 2.0 has no "connected" event and calls DISCONNECT with
    // reason -1 *before* it publishes the Will (whose ACL check needs this state), and on a
    // takeover the new client's BASIC_AUTH runs before the old one's DISCONNECT. So events are
    // published on the next TICK: disconnections first, then new connections.
    bool connected_announced = false;
    bool disconnecting = false;
    // A persistent session (clean session off) outlives its connection: mosquitto keeps queueing
    // QoS 1 messages for it and checks iot:Receive for each one against this client. Its state
    // stays (offline) until the client id connects again or the session ends.
    bool persistent = false;
    bool offline = false;
};

class LocalCoreBroker {
public:
    explicit LocalCoreBroker(BrokerOptions options);

    // Each returns a mosquitto MOSQ_ERR_* code.
    int on_basic_auth(mosquitto_evt_basic_auth& event);
    int on_acl_check(mosquitto_evt_acl_check& event);
    int on_message(mosquitto_evt_message& event);
    int on_disconnect(mosquitto_evt_disconnect& event);
    int on_tick();

private:
    struct RegistryStamp {
        std::int64_t mtime_ns = 0;
        std::uintmax_t size = 0;
        std::uintmax_t inode = 0;
        bool operator==(const RegistryStamp&) const = default;
    };

    // Builds the policy context and policy set for a certificate; nullopt + reason when refused.
    std::optional<ClientState> authenticate(mosquitto_evt_basic_auth& event, std::string& refusal);
    // The console-token path of authenticate(): websocket connections without a certificate.
    std::optional<ClientState> authenticate_token(mosquitto_evt_basic_auth& event,
                                                  const std::string& client_id, std::string& refusal);
    void refresh_policies(ClientState& state, const RegistryData& data) const;
    // Denial under the configured protocol rules; `what` goes to the log.
    int deny(mosquitto* client, ClientState* state, const std::string& what, bool is_subscribe);
    int limit_violation(mosquitto* client, ClientState* state, const std::string& what);
    // The SUBSCRIBE and PUBLISH checks of on_acl_check for a connected client.
    int check_subscribe(mosquitto_evt_acl_check& event, ClientState& state, const std::string& topic);
    int check_publish(mosquitto_evt_acl_check& event, ClientState& state, const std::string& topic);
    void publish(const OutboundMessage& message, const ClientState* requester);
    void publish_lifecycle(const ClientState& state, bool connected, std::optional<DisconnectReason> reason);
    void publish_connect_failed(const ClientState& state);
    void publish_subscription_event(const ClientState& state, bool subscribed, const std::string& filter);
    void check_registry();
    void flush_lifecycle();  // publishes pending disconnected, then connected events
    void finish_disconnect(ClientState& state);
    ClientState* state_of(const mosquitto* client);
    RequesterContext requester_of(const ClientState& state) const;
    // principalIdentifier of lifecycle events: the certificate id, or the console token's id.
    static const std::string& principal_of(const ClientState& state);
    static std::int64_t now_ms();

    BrokerOptions options_;
    Registry registry_;
    Ca ca_;
    ShadowService shadows_;
    FleetProvisioning provisioning_;
    CertificateRotation rotation_;
    std::unordered_map<const mosquitto*, ClientState> clients_;
    std::map<std::string, std::int64_t> lifecycle_versions_;  // per client id
    std::optional<RegistryStamp> registry_stamp_;
    std::chrono::steady_clock::time_point next_registry_check_{};
};

}  // namespace localcore::broker
