// AWS lifecycle events: $aws/events/presence/connected|disconnected|connect_failed/{clientId} and
// $aws/events/subscriptions/subscribed|unsubscribed/{clientId} (aws-iot-core.md section 3).
#include "mosquitto_api.hpp"
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

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
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    w.StartObject();
    w.Key("clientId");
    w.String(state.client_id.c_str());
    // No "thingName": AWS adds it only for an exclusive thing association, which localcore's
    // registry (non-exclusive, like AttachThingPrincipal's default) does not have.
    w.Key("timestamp");
    w.Int64(now_ms());
    w.Key("eventType");
    w.String(connected ? "connected" : "disconnected");
    w.Key("sessionIdentifier");
    w.String(state.session_id.c_str());
    w.Key("principalIdentifier");
    w.String(state.certificate_id.c_str());
    if (connected) {
        w.Key("ipAddress");
        w.String(state.ip_address.c_str());
    } else {
        const DisconnectReason r = reason.value_or(DisconnectReason::connection_lost);
        w.Key("clientInitiatedDisconnect");
        w.Bool(r == DisconnectReason::client_initiated);
        w.Key("disconnectReason");
        const std::string_view text = to_string(r);
        w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
    }
    w.Key("versionNumber");
    w.Int64(state.version_number);
    w.EndObject();
    publish({std::string("$aws/events/presence/") + (connected ? "connected/" : "disconnected/") + state.client_id,
             buffer.GetString(), false},
            nullptr);
}

void LocalCoreBroker::publish_connect_failed(const ClientState& state) {
    if (!eventable(state.client_id)) return;
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    w.StartObject();
    w.Key("clientId");
    w.String(state.client_id.c_str());
    w.Key("timestamp");
    w.Int64(now_ms());
    w.Key("eventType");
    w.String("connect_failed");
    w.Key("connectFailureReason");
    w.String("AUTHORIZATION_FAILED");
    w.Key("principalIdentifier");
    w.String(state.certificate_id.c_str());
    w.Key("ipAddress");
    w.String(state.ip_address.c_str());
    w.EndObject();
    publish({"$aws/events/presence/connect_failed/" + state.client_id, buffer.GetString(), false}, nullptr);
}

void LocalCoreBroker::publish_subscription_event(const ClientState& state, bool subscribed,
                                                 const std::string& filter) {
    if (!eventable(state.client_id)) return;
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    w.StartObject();
    w.Key("clientId");
    w.String(state.client_id.c_str());
    w.Key("timestamp");
    w.Int64(now_ms());
    w.Key("eventType");
    w.String(subscribed ? "subscribed" : "unsubscribed");
    w.Key("sessionIdentifier");
    w.String(state.session_id.c_str());
    w.Key("principalIdentifier");
    w.String(state.certificate_id.c_str());
    w.Key("topics");
    w.StartArray();
    w.String(filter.c_str());
    w.EndArray();
    w.EndObject();
    publish({std::string("$aws/events/subscriptions/") + (subscribed ? "subscribed/" : "unsubscribed/") +
                 state.client_id,
             buffer.GetString(), false},
            nullptr);
}

int LocalCoreBroker::on_disconnect(mosquitto_evt_disconnect& event) {
    ClientState* state = state_of(event.client);
    if (state == nullptr || state->disconnecting) return MOSQ_ERR_SUCCESS;
    if (state->offline) {
        // The end of an offline persistent session (expiry), not a connection: no event.
        clients_.erase(event.client);
        return MOSQ_ERR_SUCCESS;
    }
    state->disconnecting = true;
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
