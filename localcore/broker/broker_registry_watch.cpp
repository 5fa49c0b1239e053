// TICK: notices registry changes made by the `localcore` command (or by provisioning/rotation),
// disconnects connections whose certificate left ACTIVE (AWS: "disconnects all devices that used
// that certificate"), re-reads attached policies, and expires provisioning ownership tokens.
#include "mosquitto_api.hpp"
#include <sys/stat.h>

#include "localcore_broker.hpp"

namespace localcore::broker {

int LocalCoreBroker::on_tick() {
    flush_lifecycle();
    const auto now = std::chrono::steady_clock::now();
    if (now < next_registry_check_) return MOSQ_ERR_SUCCESS;
    next_registry_check_ = now + options_.registry_poll;
    provisioning_.expire(now_ms());
    check_registry();
    return MOSQ_ERR_SUCCESS;
}

void LocalCoreBroker::check_registry() {
    struct stat st {};
    RegistryStamp stamp;
    if (::stat(registry_.file().c_str(), &st) == 0) {
        stamp.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
        stamp.size = static_cast<std::uintmax_t>(st.st_size);
        stamp.inode = static_cast<std::uintmax_t>(st.st_ino);
    }
    if (registry_stamp_ && *registry_stamp_ == stamp) return;
    registry_stamp_ = stamp;

    RegistryData data;
    try {
        data = registry_.snapshot();
    } catch (const std::exception& e) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "localcore: cannot read the registry: %s", e.what());
        return;
    }
    std::vector<std::string> to_kick;
    std::vector<const mosquitto*> ended_sessions;
    for (auto& [client, state] : clients_) {
        if (state.disconnecting) continue;
        if (!state.token_policy.empty()) {
            // A console-token connection has no certificate to deactivate; its policy may change.
            refresh_policies(state, data);
            continue;
        }
        const auto cert = data.certificates.find(state.certificate_id);
        if (state.offline && (cert == data.certificates.end() || cert->second.status != CertStatus::Active)) {
            ended_sessions.push_back(client);  // nothing more is delivered to a dead certificate
            continue;
        }
        if (cert == data.certificates.end() || cert->second.status != CertStatus::Active) {
            if (!state.kicked) {
                state.kicked = true;
                state.pending_reason = DisconnectReason::auth_error;
                to_kick.push_back(state.client_id);
            }
            continue;
        }
        refresh_policies(state, data);
    }
    for (const mosquitto* client : ended_sessions) clients_.erase(client);
    // Kicking triggers on_disconnect, which edits clients_: collect first, kick after.
    for (const std::string& id : to_kick) {
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "localcore: disconnecting '%s': its certificate is no longer ACTIVE",
                             id.c_str());
        mosquitto_kick_client_by_clientid(id.c_str(), true);
    }
}

}  // namespace localcore::broker
