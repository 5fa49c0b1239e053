// AWS lifecycle events: $aws/events/presence/connected|disconnected|connect_failed/{clientId} and
// $aws/events/subscriptions/subscribed|unsubscribed/{clientId} (docs/aws-iot-core.md section 3.8).
#include "mosquitto_api.hpp"
#include "json_out.hpp"
#include "localcore_broker.hpp"

namespace localcore::broker {
namespace {

// AWS publishes no event for client ids containing MQTT wildcards.
bool eventable(const std::string& client_id) {
    return !client_id.empty() && client_id.find_first_of("#+") == std::string::npos;
}

DisconnectReason reason_from_mosquitto(int rc) {
    switch (rc) {
        case MOSQ_ERR_SUCCESS:
            return DisconnectReason::client_initiated;
        case MOSQ_ERR_KEEPALIVE:
            return DisconnectReason::keepalive_timeout;
        case MOSQ_ERR_CONN_LOST:
            return DisconnectReason::connection_lost;
        case MOSQ_ERR_PROTOCOL:
        case MOSQ_ERR_MALFORMED_PACKET:
        case MOSQ_ERR_PAYLOAD_SIZE:
        case MOSQ_ERR_OVERSIZE_PACKET:
        case MOSQ_ERR_QOS_NOT_SUPPORTED:
            return DisconnectReason::client_error;
        case MOSQ_ERR_AUTH:
        case MOSQ_ERR_ACL_DENIED:
            return DisconnectReason::forbidden_access;
        case MOSQ_ERR_ADMINISTRATIVE_ACTION:
            return DisconnectReason::server_initiated;
        default:
            return DisconnectReason::connection_lost;
    }
}

}  // namespace

void LocalCoreBroker::publish_lifecycle(const ClientState& state, bool connected,
                                        std::optional<DisconnectReason> reason) {
    if (!eventable(state.client_id)) return;
    // No "thingName": AWS adds it only for an exclusive thing association, which localcore's
    // registry (non-exclusive, like AttachThingPrincipal's default) does not have.
    // Stamped when the connection was accepted / ended (as AWS does), not when this TICK publishes.
    const std::int64_t at = connected ? state.connected_ms : state.disconnected_ms;
    JsonOut event;
    event.field("clientId", state.client_id)
        .field("timestamp", at != 0 ? at : now_ms())
        .field("eventType", connected ? "connected" : "disconnected")
        .field("sessionIdentifier", state.session_id)
        .field("principalIdentifier", principal_of(state));
    if (connected) {
        event.field("ipAddress", state.ip_address);
    } else {
        const DisconnectReason r = reason.value_or(DisconnectReason::connection_lost);
        event.field("clientInitiatedDisconnect", r == DisconnectReason::client_initiated)
            .field("disconnectReason", to_string(r));
    }
    event.field("versionNumber", state.version_number);
    publish({std::string("$aws/events/presence/") + (connected ? "connected/" : "disconnected/") + state.client_id,
             event.done(), false},
            nullptr);
}

void LocalCoreBroker::publish_connect_failed(const ClientState& state) {
    if (!eventable(state.client_id)) return;
    JsonOut event;
    event.field("clientId", state.client_id)
        .field("timestamp", now_ms())
        .field("eventType", "connect_failed")
        .field("connectFailureReason", "AUTHORIZATION_FAILED")
        .field("principalIdentifier", principal_of(state))
        .field("ipAddress", state.ip_address);
    publish({"$aws/events/presence/connect_failed/" + state.client_id, event.done(), false}, nullptr);
}

void LocalCoreBroker::publish_subscription_event(const ClientState& state, bool subscribed,
                                                 const std::string& filter) {
    if (!eventable(state.client_id)) return;
    JsonOut event;
    event.field("clientId", state.client_id)
        .field("timestamp", now_ms())
        .field("eventType", subscribed ? "subscribed" : "unsubscribed")
        .field("sessionIdentifier", state.session_id)
        .field("principalIdentifier", principal_of(state))
        .array("topics", {filter});
    publish({std::string("$aws/events/subscriptions/") + (subscribed ? "subscribed/" : "unsubscribed/") +
                 state.client_id,
             event.done(), false},
            nullptr);
}

int LocalCoreBroker::on_disconnect(mosquitto_evt_disconnect& event) {
    ClientState* state = state_of(event.client);
    if (state == nullptr || state->disconnecting) return MOSQ_ERR_SUCCESS;
    if (state->offline) {
        // The end of an offline persistent session (expiry), not a connection: no event. (A client
        // id that returns takes its session over: on_basic_auth has dropped this state by then.)
        forget_session_record(state->client_id);
        clients_.erase(event.client);
        return MOSQ_ERR_SUCCESS;
    }
    state->disconnecting = true;
    state->disconnected_ms = now_ms();
    // mosquitto 2.0 passes -1; newer versions may pass a real code.
    if (!state->pending_reason && event.reason >= 0) state->pending_reason = reason_from_mosquitto(event.reason);
    return MOSQ_ERR_SUCCESS;
}

void LocalCoreBroker::finish_disconnect(ClientState& state) {
    // Without a reason from us (kick, takeover, denial) or from mosquitto, a clean DISCONNECT and a
    // lost socket look the same to a mosquitto 2.0 plugin: reported as CONNECTION_LOST, the
    // cautious reading (a monitor then checks the device rather than assuming it said goodbye).
    const DisconnectReason reason = state.pending_reason.value_or(DisconnectReason::connection_lost);
    if (state.connected_announced) publish_lifecycle(state, false, reason);
}

void LocalCoreBroker::flush_lifecycle() {
    for (auto it = clients_.begin(); it != clients_.end();) {
        if (it->second.disconnecting) {
            finish_disconnect(it->second);
            if (it->second.persistent && !it->second.kicked) {
                it->second.disconnecting = false;
                it->second.offline = true;
                it->second.subscriptions.clear();
                ++it;
            } else {
                it = clients_.erase(it);
            }
        } else {
            ++it;
        }
    }
    for (auto& [client, state] : clients_) {
        if (!state.connected_announced && !state.offline) {
            state.connected_announced = true;
            publish_lifecycle(state, true, std::nullopt);
        }
    }
}

}  // namespace localcore::broker
