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
    if (state == nullptr) return MOSQ_ERR_ACL_DENIED;  // not authenticated by us: nothing is allowed
    const std::string topic = event.topic ? event.topic : "";
    const RequestContext& ctx = state->policy_context;
    if (state->offline) {
        // Deliveries queued for an offline persistent session: Receive still applies.
        if (event.access != MOSQ_ACL_READ) return MOSQ_ERR_ACL_DENIED;
        return state->policies.evaluate(Action::receive, topic, ctx).allowed ? MOSQ_ERR_SUCCESS
                                                                             : MOSQ_ERR_ACL_DENIED;
    }
    if (state->disconnecting) {
        // The only check after DISCONNECT is the Will being sent: AWS requires iot:Publish (and
        // iot:RetainPublish for a retained Will) on its topic.
        if (event.access != MOSQ_ACL_WRITE) return MOSQ_ERR_ACL_DENIED;
        if (!state->policies.evaluate(Action::publish, topic, ctx).allowed) return MOSQ_ERR_ACL_DENIED;
        if (event.retain && !state->policies.evaluate(Action::retain_publish, topic, ctx).allowed)
            return MOSQ_ERR_ACL_DENIED;
        return MOSQ_ERR_SUCCESS;
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

// A PUBLISH of a connected client: AWS's payload, topic and QoS limits, the topics only the services
// publish on, RETAIN on reserved topics, then iot:Publish (and iot:RetainPublish when retained).
int LocalCoreBroker::check_publish(mosquitto_evt_acl_check& event, ClientState& state,
                                   const std::string& topic) {
    const RequestContext& ctx = state.policy_context;
    if (event.payloadlen > options_.max_payload_bytes)
        return limit_violation(event.client, &state,
                               "PUBLISH on '" + topic + "' carries " + std::to_string(event.payloadlen) +
                                   " bytes, over the AWS limit of 128 KB");
    if (topic.size() > options_.max_topic_bytes || counted_slashes(topic) > options_.max_topic_slashes)
        return limit_violation(event.client, &state,
                               "topic '" + topic + "' exceeds AWS limits (256 bytes, 7 slashes)");
    if (event.qos > 1)
        return limit_violation(event.client, &state,
                               "QoS 2 PUBLISH on '" + topic + "' (AWS supports 0 and 1)");
    if (is_service_only_topic(topic))
        return deny(event.client, &state, "PUBLISH '" + topic + "': only the service publishes there", false);
    if (event.retain && topic.starts_with("$"))
        return deny(event.client, &state, "retained PUBLISH '" + topic + "': no RETAIN on reserved topics",
                    false);
    const Decision d = state.policies.evaluate(Action::publish, topic, ctx);
    if (!d.allowed) return deny(event.client, &state, "PUBLISH '" + topic + "': " + d.reason, false);
    if (event.retain) {
        const Decision r = state.policies.evaluate(Action::retain_publish, topic, ctx);
        if (!r.allowed)
            return deny(event.client, &state, "retained PUBLISH '" + topic + "': " + r.reason, false);
    }
    return MOSQ_ERR_SUCCESS;
}

}  // namespace localcore::broker
