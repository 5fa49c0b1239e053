// Every SUBSCRIBE, PUBLISH and delivery: AWS limits, service-only topics, then the IoT policies.
#include "mosquitto_api.hpp"

#include <algorithm>

#include "localcore_broker.hpp"
#include "mqtt_limits.hpp"

namespace localcore::broker {

int LocalCoreBroker::deny(mosquitto* client, ClientState* state, const std::string& what, bool is_subscribe) {
    const char* id = mosquitto_client_id(client);
    mosquitto_log_printf(MOSQ_LOG_NOTICE, "localcore: denied %s for '%s'", what.c_str(), id ? id : "?");
    if (mosquitto_client_protocol_version(client) == 5) return MOSQ_ERR_ACL_DENIED;  // reason code 0x87
    if (is_subscribe && options_.mqtt311_denial == Mqtt311Denial::suback_failure) return MOSQ_ERR_ACL_DENIED;
    // Any error other than ACL_DENIED makes mosquitto close the connection at once (AWS's observed
    // 3.1.1 behaviour); the lifecycle event reports FORBIDDEN_ACCESS.
    if (state) state->pending_reason = DisconnectReason::forbidden_access;
    return MOSQ_ERR_AUTH;
}

int LocalCoreBroker::limit_violation(mosquitto* client, ClientState* state, const std::string& what) {
    const char* id = mosquitto_client_id(client);
    mosquitto_log_printf(MOSQ_LOG_NOTICE, "localcore: closing '%s': %s", id ? id : "?", what.c_str());
    if (state) state->pending_reason = DisconnectReason::client_error;
    return MOSQ_ERR_PROTOCOL;
}

int LocalCoreBroker::on_acl_check(mosquitto_evt_acl_check& event) {
    ClientState* state = state_of(event.client);
    // A client the plugin never authenticated is, for a delivery, a persistent session mosquitto
    // restored from its persistence file after a restart (broker_sessions.cpp): rebuilt from its
    // session record, or refused. Nothing else is allowed to an unknown client.
    if (state == nullptr && event.access == MOSQ_ACL_READ) state = restore_offline_session(event.client);
    if (state == nullptr) return MOSQ_ERR_ACL_DENIED;
    const std::string topic = event.topic ? event.topic : "";
    const RequestContext& ctx = state->policy_context;
    if (event.access == MOSQ_ACL_READ) {
        if (const auto reply = check_reply_delivery(event, topic)) return *reply;
        // Nothing is ever retained on a `$` topic (see check_publish); one stored by an older
        // localcore that let Wills through is never replayed.
        if (event.retain && (topic.starts_with("$") || is_service_only_topic(topic))) return MOSQ_ERR_ACL_DENIED;
    }
    if (state->offline) {
        // Deliveries queued for an offline persistent session: Receive still applies.
        if (event.access != MOSQ_ACL_READ || state->session_ended) return MOSQ_ERR_ACL_DENIED;
        return state->policies.evaluate(Action::receive, topic, ctx).allowed ? MOSQ_ERR_SUCCESS
                                                                             : MOSQ_ERR_ACL_DENIED;
    }
    // The only check after DISCONNECT (mosquitto tells the plugin before it sends the Will), or on a
    // connection being taken over (mosquitto sends its Will before it closes it), is the Will's.
    if (state->disconnecting || state->pending_reason == DisconnectReason::duplicate_client_id) {
        if (event.access != MOSQ_ACL_WRITE) return MOSQ_ERR_ACL_DENIED;
        return check_will(event, *state, topic);
    }

    switch (event.access) {
        case MOSQ_ACL_SUBSCRIBE:
            return check_subscribe(event, *state, topic);
        case MOSQ_ACL_UNSUBSCRIBE: {
            const auto it = std::find(state->subscriptions.begin(), state->subscriptions.end(), topic);
            if (it != state->subscriptions.end()) {
                state->subscriptions.erase(it);
                publish_subscription_event(*state, false, topic);
            }
            return MOSQ_ERR_SUCCESS;
        }
        case MOSQ_ACL_WRITE:
            return check_publish(event, *state, topic);
        case MOSQ_ACL_READ: {
            // iot:Receive is checked on every delivery: revoking it stops live subscriptions.
            const Decision d = state->policies.evaluate(Action::receive, topic, ctx);
            return d.allowed ? MOSQ_ERR_SUCCESS : MOSQ_ERR_ACL_DENIED;
        }
        default:
            return MOSQ_ERR_ACL_DENIED;
    }
}

// A SUBSCRIBE of a connected client: AWS's topic filter limits, then iot:Subscribe; a new filter is
// announced as a subscription event.
int LocalCoreBroker::check_subscribe(mosquitto_evt_acl_check& event, ClientState& state,
                                     const std::string& topic) {
    const RequestContext& ctx = state.policy_context;
    if (topic.size() > options_.max_topic_bytes || counted_slashes(topic) > options_.max_topic_slashes)
        return limit_violation(event.client, &state,
                               "topic filter '" + topic + "' exceeds AWS limits (256 bytes, 7 slashes)");
    const Decision d = state.policies.evaluate(Action::subscribe, topic, ctx);
    if (!d.allowed) return deny(event.client, &state, "SUBSCRIBE '" + topic + "': " + d.reason, true);
    if (std::find(state.subscriptions.begin(), state.subscriptions.end(), topic) ==
        state.subscriptions.end()) {
        state.subscriptions.push_back(topic);
        publish_subscription_event(state, true, topic);
    }
    return MOSQ_ERR_SUCCESS;
}

// AWS's rules for a PUBLISH (and for a Will, which AWS checks the same way): payload, topic and QoS
// limits, the topics only the services publish on, RETAIN on reserved topics, then iot:Publish (and
// iot:RetainPublish when retained).
std::optional<PublishRefusal> LocalCoreBroker::publish_refusal(const ClientState& state, const std::string& topic,
                                                               std::size_t payload_bytes, int qos,
                                                               bool retain) const {
    const RequestContext& ctx = state.policy_context;
    if (payload_bytes > options_.max_payload_bytes)
        return PublishRefusal{true, "PUBLISH on '" + topic + "' carries " + std::to_string(payload_bytes) +
                                        " bytes, over the AWS limit of 128 KB"};
    if (topic.size() > options_.max_topic_bytes || counted_slashes(topic) > options_.max_topic_slashes)
        return PublishRefusal{true, "topic '" + topic + "' exceeds AWS limits (256 bytes, 7 slashes)"};
    if (qos > 1) return PublishRefusal{true, "QoS 2 PUBLISH on '" + topic + "' (AWS supports 0 and 1)"};
    if (is_service_only_topic(topic))
        return PublishRefusal{false, "PUBLISH '" + topic + "': only the service publishes there"};
    if (retain && topic.starts_with("$"))
        return PublishRefusal{false, "retained PUBLISH '" + topic + "': no RETAIN on reserved topics"};
    const Decision d = state.policies.evaluate(Action::publish, topic, ctx);
    if (!d.allowed) return PublishRefusal{false, "PUBLISH '" + topic + "': " + d.reason};
    if (retain) {
        const Decision r = state.policies.evaluate(Action::retain_publish, topic, ctx);
        if (!r.allowed) return PublishRefusal{false, "retained PUBLISH '" + topic + "': " + r.reason};
    }
    return std::nullopt;
}

// A PUBLISH of a connected client: a limit closes the connection, then AWS's per-connection rate,
// then the denials of publish_refusal.
int LocalCoreBroker::check_publish(mosquitto_evt_acl_check& event, ClientState& state, const std::string& topic) {
    const auto refusal = publish_refusal(state, topic, event.payloadlen, event.qos, event.retain);
    if (refusal && refusal->closes_connection) return limit_violation(event.client, &state, refusal->what);
    if (!take_publish_token(state)) {
        // AWS throttles the PUBLISH and keeps the connection. A mosquitto 2.0 plugin can refuse a
        // PUBLISH only as "not authorized" (MQTT 5 PUBACK 0x87; AWS says 0x97): never as a denial
        // that closes an MQTT 3.1.1 connection.
        mosquitto_log_printf(MOSQ_LOG_NOTICE,
                             "localcore: throttled PUBLISH on '%s' from '%s': over %d publishes per second",
                             topic.c_str(), state.client_id.c_str(), options_.publish_rate_per_second);
        return MOSQ_ERR_ACL_DENIED;
    }
    if (refusal) return deny(event.client, &state, refusal->what, false);
    return MOSQ_ERR_SUCCESS;
}

int LocalCoreBroker::check_will(mosquitto_evt_acl_check& event, const ClientState& state, const std::string& topic) {
    // mosquitto 2.0 shows a plugin the Will only now, when it sends it: it has no hook at CONNECT
    // (docs/aws-iot-core.md section 3.6). A refused Will is dropped; it does not change how the
    // connection's end is reported.
    if (const auto refusal = publish_refusal(state, topic, event.payloadlen, event.qos, event.retain)) {
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "localcore: Will of '%s' on '%s' not sent: %s", state.client_id.c_str(),
                             topic.c_str(), refusal->what.c_str());
        return MOSQ_ERR_ACL_DENIED;
    }
    return MOSQ_ERR_SUCCESS;
}

bool LocalCoreBroker::take_publish_token(ClientState& state) const {
    const auto now = std::chrono::steady_clock::now();
    const double rate = options_.publish_rate_per_second;
    if (state.publish_tokens_at == std::chrono::steady_clock::time_point{}) {
        state.publish_tokens = rate;  // a new connection starts with a full second's worth
    } else {
        const double elapsed = std::chrono::duration<double>(now - state.publish_tokens_at).count();
        state.publish_tokens = std::min(rate, state.publish_tokens + elapsed * rate);
    }
    state.publish_tokens_at = now;
    if (state.publish_tokens < 1.0) return false;
    state.publish_tokens -= 1.0;
    return true;
}

std::optional<int> LocalCoreBroker::check_reply_delivery(mosquitto_evt_acl_check& event, const std::string& topic) {
    const std::string_view payload(static_cast<const char*>(event.payload), event.payloadlen);
    for (const PendingReply& reply : pending_replies_) {
        if (reply.topic != topic || reply.payload != payload) continue;
        const ClientState* state = state_of(event.client);
        const bool requester = event.client == reply.client && state != nullptr &&
                               state->connection_serial == reply.connection_serial && !state->disconnecting &&
                               !state->offline;
        if (!requester) return MOSQ_ERR_ACL_DENIED;
        return state->policies.evaluate(Action::receive, topic, state->policy_context).allowed ? MOSQ_ERR_SUCCESS
                                                                                              : MOSQ_ERR_ACL_DENIED;
    }
    return std::nullopt;
}

}  // namespace localcore::broker
