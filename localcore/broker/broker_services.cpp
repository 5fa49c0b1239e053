// PUBLISH to a service topic (already authorized): the Device Shadow, Jobs, Fleet Provisioning and
// certificate-rotation engines answer, and their replies are published by the broker.
#include "mosquitto_api.hpp"

#include "localcore_broker.hpp"

namespace localcore::broker {

int LocalCoreBroker::on_message(mosquitto_evt_message& event) {
    ClientState* state = state_of(event.client);
    if (state == nullptr || event.topic == nullptr) return MOSQ_ERR_SUCCESS;
    const std::string_view topic = event.topic;
    const std::string_view payload(static_cast<const char*>(event.payload), event.payloadlen);

    std::vector<OutboundMessage> replies;
    if (const auto request = parse_shadow_request_topic(topic)) {
        replies = shadows_.handle(*request, payload, now_ms());
    } else if (JobsService::is_request_topic(topic)) {
        replies = jobs_.handle(topic, payload, now_ms());
    } else if (FleetProvisioning::is_request_topic(topic)) {
        replies = provisioning_.handle(topic, payload, requester_of(*state), now_ms());
    } else if (CertificateRotation::is_request_topic(topic)) {
        replies = rotation_.handle(topic, payload, requester_of(*state), now_ms());
        // The old certificate may now be INACTIVE: disconnect its connections without waiting
        // for the next registry poll.
        registry_index_.invalidate();
        checked_generation_.reset();
        next_registry_check_ = {};
    } else {
        return MOSQ_ERR_SUCCESS;
    }
    for (const OutboundMessage& reply : replies) publish(reply, state);
    return MOSQ_ERR_SUCCESS;
}

}  // namespace localcore::broker
