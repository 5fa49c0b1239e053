// Persistent sessions across broker restarts (docs/aws-iot-core.md section 3.4). mosquitto keeps
// an offline session's subscriptions and queued QoS 1 messages in its persistence file and
// restores them at start, but checks iot:Receive for every message it queues through this plugin,
// which after a restart has never seen the client. The session record (session_records.hpp) names
// the certificate or console token behind the session; the first delivery to a restored session
// rebuilds its offline ClientState from it with the registry as it is now, so a certificate
// deactivated or revoked meanwhile, or a detached policy, still stops the deliveries.
#include "mosquitto_api.hpp"

#include "console_token.hpp"
#include "localcore_broker.hpp"

namespace localcore::broker {

void LocalCoreBroker::record_session(const ClientState& state) {
    SessionRecord record;
    record.client_id = state.client_id;
    record.certificate_id = state.certificate_id;
    record.certificate_subject = state.policy_context.certificate_subject;
    record.token_id = state.token_id;
    record.token_policy = state.token_policy;
    record.token_expires_at = state.token_expires_at;
    try {
        sessions_.save(record);
    } catch (const std::exception& e) {
        // The connection itself is fine; only a restart while it is offline would lose messages.
        mosquitto_log_printf(MOSQ_LOG_ERR,
                             "localcore: cannot record the persistent session of '%s' (messages queued for it "
                             "will be refused after a broker restart): %s",
                             state.client_id.c_str(), e.what());
    }
}

void LocalCoreBroker::forget_session_record(const std::string& client_id) {
    try {
        sessions_.remove(client_id);
    } catch (const std::exception& e) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "localcore: %s", e.what());
    }
}

void LocalCoreBroker::end_offline_session(ClientState& state, const std::string& why) {
    mosquitto_log_printf(MOSQ_LOG_NOTICE, "localcore: persistent session of '%s' ended: %s; nothing more is "
                                          "delivered to it", state.client_id.c_str(), why.c_str());
    state.session_ended = true;
    state.policies = PolicySet{};
    forget_session_record(state.client_id);
}

ClientState* LocalCoreBroker::restore_offline_session(mosquitto* client) {
    const char* id = mosquitto_client_id(client);
    if (id == nullptr || *id == '\0') return nullptr;
    ClientState state;
    state.client_id = id;
    state.persistent = true;
    state.offline = true;
    state.connected_announced = true;  // its connection was announced before the restart
    state.session_id = "restored";
    state.policy_context.client_id = state.client_id;
    state.policy_context.region = options_.region;
    state.policy_context.account_id = options_.account_id;
    std::string ended;
    std::optional<SessionRecord> record;
    try {
        record = sessions_.find(state.client_id);
        if (!record)
            ended = "no session record names its certificate (made with clean start on, or by an older localcore)";
    } catch (const std::exception& e) {
        ended = e.what();
    }
    if (record) {
        state.certificate_id = record->certificate_id;
        state.policy_context.certificate_subject = record->certificate_subject;
        state.token_id = record->token_id;
        state.token_policy = record->token_policy;
        state.token_expires_at = record->token_expires_at;
        // After a restart every restored session is rebuilt at its first delivery: they share the
        // index, parsed once while the file is unchanged.
        const RegistryIndex& registry = current_registry();
        if (!state.token_id.empty()) {
            const std::string jti = state.token_id.substr(state.token_id.find('/') + 1);
            if (now_ms() / 1000 >= state.token_expires_at)
                ended = "its console token expired";
            else if (console_token_revocations(options_.data_dir).contains(jti))
                ended = "its console token was revoked";
        } else {
            const Certificate* cert = registry.certificate(state.certificate_id);
            if (cert == nullptr)
                ended = "its certificate " + state.certificate_id + " is no longer registered";
            else if (cert->status != CertStatus::Active)
                ended = "its certificate " + state.certificate_id + " is " + std::string(to_string(cert->status));
        }
        if (ended.empty()) refresh_policies(state, registry);
    }
    ClientState& stored = clients_[client] = std::move(state);
    if (!ended.empty()) {
        end_offline_session(stored, ended);
    } else {
        mosquitto_log_printf(MOSQ_LOG_INFO, "localcore: restored the persistent session of '%s' (%s)",
                             stored.client_id.c_str(), principal_of(stored).c_str());
    }
    return &stored;
}

}  // namespace localcore::broker
