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
#include <utility>
#include <vector>

#include "broker_options.hpp"
#include "ca.hpp"
#include "jobs_service.hpp"
#include "outbound_message.hpp"
#include "policy.hpp"
#include "provisioning.hpp"
#include "registry.hpp"
#include "registry_index.hpp"
#include "rotation.hpp"
#include "session_records.hpp"
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
    customauth_ttl_expiration,  // the console token expired (AWS: a custom authorizer's disconnectAfterInSeconds)
    websocket_ttl_expiration,   // the websocket connection duration cap (AWS: 24 h for SigV4)
};
std::string_view to_string(DisconnectReason);

// A number no earlier connection had (mosquitto runs plugins on one thread).
std::uint64_t new_connection_serial();

// What the broker knows about one authenticated connection.
struct ClientState {
    std::string client_id;
    std::string certificate_id;  // empty for a console-token connection
    // A connection authenticated by a console token (lib/console_token.hpp) instead of a
    // certificate: the token's id (the principal in lifecycle events) and the policy it names.
    std::string token_id;
    std::string token_policy;
    std::int64_t token_expires_at = 0;  // epoch seconds: the connection ends then
    // Websocket connections end after options.max_websocket_connection (AWS: 24 h for SigV4).
    bool websocket = false;
    std::chrono::steady_clock::time_point connected_at{};
    // Lifecycle event timestamps (epoch ms), taken when the connection was accepted and when
    // mosquitto reported its end, as AWS stamps them: the events themselves go out on a later TICK
    // (see below), and during a burst of connections that tick comes late.
    std::int64_t connected_ms = 0;
    std::int64_t disconnected_ms = 0;
    std::string session_id;  // lifecycle sessionIdentifier
    // Tells this connection from a later one at the same mosquitto* (mosquitto reuses freed
    // contexts' addresses) or with the same client id: replies are checked against it.
    std::uint64_t connection_serial = new_connection_serial();
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
    // stays (offline) until the client id connects again or the session ends. After a broker
    // restart it is rebuilt from the session record (session_records.hpp) at the first delivery.
    bool persistent = false;
    bool offline = false;
    // An offline session whose certificate or console token died (or that has no record): it stays
    // here, refusing every delivery, until mosquitto drops the session or the client id returns,
    // so that it is not rebuilt from a record at the next delivery.
    bool session_ended = false;
    // AWS's per-connection publish rate (BrokerOptions::publish_rate_per_second): a token bucket
    // holding at most one second's worth, refilled continuously.
    double publish_tokens = 0;
    std::chrono::steady_clock::time_point publish_tokens_at{};
};

// Why a PUBLISH (or a Will) is refused: a limit closes the connection, a denial refuses the packet.
struct PublishRefusal {
    bool closes_connection = false;
    std::string what;
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
    // Builds the policy context and policy set for a certificate; nullopt + reason when refused.
    std::optional<ClientState> authenticate(mosquitto_evt_basic_auth& event, std::string& refusal);
    // The console-token path of authenticate(): websocket connections without a certificate.
    std::optional<ClientState> authenticate_token(mosquitto_evt_basic_auth& event,
                                                  const std::string& client_id, std::string& refusal);
    void refresh_policies(ClientState& state, const RegistryIndex& registry) const;
    // The registry as it is on disk now: one stat, and a parse only when the file changed.
    const RegistryIndex& current_registry();
    // Denial under the configured protocol rules; `what` goes to the log.
    int deny(mosquitto* client, ClientState* state, const std::string& what, bool is_subscribe);
    int limit_violation(mosquitto* client, ClientState* state, const std::string& what);
    // The SUBSCRIBE and PUBLISH checks of on_acl_check for a connected client.
    int check_subscribe(mosquitto_evt_acl_check& event, ClientState& state, const std::string& topic);
    int check_publish(mosquitto_evt_acl_check& event, ClientState& state, const std::string& topic);
    // AWS's PUBLISH rules without the throttle, shared by PUBLISH and the Will.
    std::optional<PublishRefusal> publish_refusal(const ClientState& state, const std::string& topic,
                                                  std::size_t payload_bytes, int qos, bool retain) const;
    // The Will, checked when mosquitto sends it: refused without touching the connection's state.
    int check_will(mosquitto_evt_acl_check& event, const ClientState& state, const std::string& topic);
    // Whether the connection may publish once more now (AWS's per-connection publish rate).
    bool take_publish_token(ClientState& state) const;
    // Deliveries of a reply meant for one connection (see PendingReply); nullopt: not such a reply.
    std::optional<int> check_reply_delivery(mosquitto_evt_acl_check& event, const std::string& topic);
    void publish(const OutboundMessage& message, const ClientState* requester);
    void publish_lifecycle(const ClientState& state, bool connected, std::optional<DisconnectReason> reason);
    void publish_connect_failed(const ClientState& state);
    void publish_subscription_event(const ClientState& state, bool subscribed, const std::string& filter);
    void check_registry();
    // Ends console-token connections whose token expired or was revoked, and websocket connections
    // older than the duration cap (broker_console_token_watch.cpp).
    void check_console_tokens();
    void expire_pending_replies();  // on every TICK
    void flush_lifecycle();  // publishes pending disconnected, then connected events
    void finish_disconnect(ClientState& state);
    ClientState* state_of(const mosquitto* client);
    // Persistent sessions across restarts (broker_sessions.cpp): the record of a connecting
    // session, the offline state rebuilt for a session mosquitto restored, and the end of one.
    void record_session(const ClientState& state);
    ClientState* restore_offline_session(mosquitto* client);
    void end_offline_session(ClientState& state, const std::string& why);
    void forget_session_record(const std::string& client_id);
    RequesterContext requester_of(const ClientState& state) const;
    // principalIdentifier of lifecycle events: the certificate id, or the console token's id.
    static const std::string& principal_of(const ClientState& state);
    static std::int64_t now_ms();

    BrokerOptions options_;
    Registry registry_;
    // CONNECT, the registry poll and restored sessions all read this, not the file.
    RegistryIndex registry_index_;
    Ca ca_;
    ShadowService shadows_;
    JobsService jobs_;
    FleetProvisioning provisioning_;
    CertificateRotation rotation_;
    SessionRecords sessions_;
    // A reply published for the connection that asked (fleet provisioning, rotation). It is
    // published to the topic's subscribers on the broker's next loop pass, and the delivery check
    // (iot:Receive time) lets it through only to that very connection: mosquitto's targeted publish
    // would go to whoever holds the client id by then, subscribed or not.
    struct PendingReply {
        std::string topic, payload;
        const mosquitto* client = nullptr;
        std::uint64_t connection_serial = 0;
        int ticks = 0;  // dropped after the tick that follows the delivery pass
    };
    std::vector<PendingReply> pending_replies_;
    std::unordered_map<const mosquitto*, ClientState> clients_;
    std::map<std::string, std::int64_t> lifecycle_versions_;  // per client id
    // The registry_index_ generation the connections were last checked against (check_registry).
    std::optional<std::uint64_t> checked_generation_;
    std::chrono::steady_clock::time_point next_registry_check_{};
    std::string registry_error_;     // the last failure to read the registry, logged once
    std::string revocations_error_;  // the last failure to read the revocation list, logged once
};

}  // namespace localcore::broker
