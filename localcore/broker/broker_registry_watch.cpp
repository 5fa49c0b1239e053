// TICK: notices registry changes made by the `localcore` command (or by provisioning/rotation),
// disconnects connections whose certificate left ACTIVE (AWS: "disconnects all devices that used
// that certificate"), re-reads attached policies, expires provisioning ownership tokens, and lets
// the Jobs service time out executions and announce jobs the command created or cancelled.
#include "mosquitto_api.hpp"

#include "localcore_broker.hpp"

namespace localcore::broker {

int LocalCoreBroker::on_tick() {
    flush_lifecycle();
    expire_pending_replies();
    const auto now = std::chrono::steady_clock::now();
    if (now < next_registry_check_) return MOSQ_ERR_SUCCESS;
    next_registry_check_ = now + options_.registry_poll;
    provisioning_.expire(now_ms());
    check_registry();
    check_console_tokens();
    for (const OutboundMessage& message : jobs_.tick(now_ms())) publish(message, nullptr);
    return MOSQ_ERR_SUCCESS;
}

void LocalCoreBroker::check_registry() {
    // A CONNECT may have refreshed the index already: what matters is whether the connections
    // were checked against this version of the registry.
    const RegistryIndex* registry = nullptr;
    try {
        registry = &current_registry();
    } catch (const std::exception& e) {
        // Logged once per broken version of the file, not at every poll.
        if (registry_error_ != e.what())
            mosquitto_log_printf(MOSQ_LOG_ERR, "localcore: cannot read the registry: %s", e.what());
        registry_error_ = e.what();
        return;
    }
    registry_error_.clear();
    if (checked_generation_ == registry->generation()) return;
    checked_generation_ = registry->generation();
    std::vector<std::string> to_kick;
    for (auto& [client, state] : clients_) {
        if (state.disconnecting || state.session_ended) continue;
        if (!state.token_policy.empty()) {
            // A console-token connection has no certificate to deactivate; its policy may change.
            refresh_policies(state, *registry);
            continue;
        }
        const Certificate* cert = registry->certificate(state.certificate_id);
        if (state.offline && (cert == nullptr || cert->status != CertStatus::Active)) {
            // Nothing more is delivered to a dead certificate. The state stays (refusing) so that
            // the next delivery does not rebuild it from the session record.
            end_offline_session(state, "its certificate " + state.certificate_id + " is no longer ACTIVE");
            continue;
        }
        if (cert == nullptr || cert->status != CertStatus::Active) {
            if (!state.kicked) {
                state.kicked = true;
                state.pending_reason = DisconnectReason::auth_error;
                to_kick.push_back(state.client_id);
            }
            continue;
        }
        refresh_policies(state, *registry);
    }
    // Kicking triggers on_disconnect, which edits clients_: collect first, kick after.
    for (const std::string& id : to_kick) {
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "localcore: disconnecting '%s': its certificate is no longer ACTIVE",
                             id.c_str());
        mosquitto_kick_client_by_clientid(id.c_str(), true);
    }
}

}  // namespace localcore::broker
