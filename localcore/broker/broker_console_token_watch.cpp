// TICK (at the registry poll interval): a console token is enforced on the live connection, not
// only at CONNECT. A connection ends when
// - its token expires: CUSTOMAUTH_TTL_EXPIRATION, AWS's reason when a custom authorizer's
//   disconnectAfterInSeconds runs out (the closest AWS analogue of a signed bearer token checked by
//   the service; a SigV4 connection on AWS outlives its credentials, localcore's tokens do not);
// - its token is revoked (`localcore revoke-console-token`): AUTH_ERROR, as for a certificate
//   that leaves ACTIVE;
// - it is a websocket connection older than options.max_websocket_connection (default 24 h):
//   WEBSOCKET_TTL_EXPIRATION, as AWS ends a SigV4 connection after 24 hours.
// mosquitto sends an MQTT 5 client DISCONNECT 0x98 (administrative action) first; the console then
// connects again with a fresh token (client/public/js/mqtt_link.js).
#include "mosquitto_api.hpp"

#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "console_token.hpp"
#include "localcore_broker.hpp"
#include "time_text.hpp"

namespace localcore::broker {
namespace {

constexpr std::string_view kTokenPrincipalPrefix = "console-token/";

std::string jti_of(const ClientState& state) {
    std::string_view id = state.token_id;
    if (id.starts_with(kTokenPrincipalPrefix)) id.remove_prefix(kTokenPrincipalPrefix.size());
    return std::string(id);
}

}  // namespace

void LocalCoreBroker::check_console_tokens() {
    bool any_token = false, any_websocket = false;
    for (const auto& [client, state] : clients_) {
        any_token = any_token || !state.token_id.empty();
        any_websocket = any_websocket || state.websocket;
    }
    if (!any_token && !any_websocket) return;

    // Read only while token connections exist; a damaged list is logged (once per distinct error)
    // and revokes nothing: the connections keep their other checks.
    std::map<std::string, std::int64_t> revoked;
    if (any_token) {
        try {
            revoked = console_token_revocations(options_.data_dir);
            revocations_error_.clear();
        } catch (const std::exception& e) {
            if (revocations_error_ != e.what()) {
                revocations_error_ = e.what();
                mosquitto_log_printf(MOSQ_LOG_ERR, "localcore: cannot read the console token revocations: %s",
                                     e.what());
            }
        }
    }

    const std::int64_t now_s = now_ms() / 1000;
    const auto now = std::chrono::steady_clock::now();
    struct Kick {
        std::string client_id, why;
    };
    std::vector<Kick> to_kick;
    for (auto& [client, state] : clients_) {
        if (state.disconnecting || state.kicked || state.session_ended) continue;
        std::optional<DisconnectReason> reason;
        std::string why;
        if (!state.token_id.empty()) {
            const std::string jti = jti_of(state);
            if (const auto it = revoked.find(jti); it != revoked.end()) {
                reason = DisconnectReason::auth_error;
                why = "its console token " + jti + " was revoked at " + utc_iso8601(it->second);
            } else if (now_s >= state.token_expires_at) {
                reason = DisconnectReason::customauth_ttl_expiration;
                why = "its console token expired at " + utc_iso8601(state.token_expires_at);
            }
        }
        if (!reason && state.websocket && !state.offline &&
            now - state.connected_at >= options_.max_websocket_connection) {
            reason = DisconnectReason::websocket_ttl_expiration;
            why = "connected for " + std::to_string(options_.max_websocket_connection.count()) +
                  " s, the websocket connection limit (AWS: 24 h for SigV4)";
        }
        if (!reason) continue;
        if (state.offline) {
            end_offline_session(state, why);  // nothing more is delivered on a dead token
            continue;
        }
        state.kicked = true;
        state.pending_reason = reason;
        to_kick.push_back({state.client_id, why});
    }
    // Kicking triggers on_disconnect, which edits clients_: collect first, kick after.
    for (const Kick& k : to_kick) {
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "localcore: disconnecting '%s': %s", k.client_id.c_str(),
                             k.why.c_str());
        mosquitto_kick_client_by_clientid(k.client_id.c_str(), true);
    }
}

}  // namespace localcore::broker
