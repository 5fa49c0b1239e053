// CONNECT: the X.509 authentication of AWS IoT Core against the local registry, then iot:Connect.
#include "mosquitto_api.hpp"
#include <openssl/rand.h>

#include <algorithm>

#include "client_certificate.hpp"
#include "console_token.hpp"
#include "localcore_broker.hpp"

namespace localcore::broker {
namespace {

std::string random_session_id() {
    unsigned char bytes[16];
    if (RAND_bytes(bytes, sizeof bytes) != 1) return "unknown";
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < sizeof bytes; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
        out.push_back(kDigits[bytes[i] >> 4]);
        out.push_back(kDigits[bytes[i] & 0x0f]);
    }
    return out;
}

}  // namespace

void LocalCoreBroker::refresh_policies(ClientState& state, const RegistryIndex& registry) const {
    state.policies = PolicySet{};
    if (!state.token_policy.empty()) {
        // A console token carries no thing: iot:Connection.Thing.* stay unset, as for a Cognito
        // identity on AWS.
        state.policy_context.thing_attached = false;
        state.policy_context.thing_name = std::nullopt;
        if (const Policy* policy = registry.policy(state.token_policy)) state.policies.add(*policy);
        return;
    }
    const Certificate* cert = registry.certificate(state.certificate_id);
    if (cert == nullptr) return;
    bool attached = false;
    attached_policies(registry, *cert, state.client_id, state.policies, attached);
    state.policy_context.thing_attached = attached;
    state.policy_context.thing_name = attached ? std::optional<std::string>(state.client_id) : std::nullopt;
}

std::optional<ClientState> LocalCoreBroker::authenticate_token(mosquitto_evt_basic_auth& event,
                                                               const std::string& client_id,
                                                               std::string& refusal) {
    if (mosquitto_client_protocol(event.client) != mp_websockets) {
        refusal =
            "no client certificate (a console token is accepted only over websockets, as AWS accepts "
            "SigV4 only over WSS)";
        return std::nullopt;
    }
    if (event.password == nullptr || *event.password == '\0') {
        refusal =
            "no client certificate and no console token (the MQTT password); get one with `localcore "
            "issue-console-token`";
        return std::nullopt;
    }
    const auto now_s = now_ms() / 1000;
    ConsoleTokenClaims claims;
    try {
        claims = verify_console_token(options_.data_dir, event.password, now_s);
    } catch (const Error& e) {
        refusal = e.what();
        return std::nullopt;
    }
    if (!client_id.starts_with(claims.client_prefix)) {
        refusal = "client id '" + client_id + "' does not start with '" + claims.client_prefix +
                  "', the prefix its console token allows";
        return std::nullopt;
    }
    const RegistryIndex& registry = current_registry();
    if (!registry.data().policies.count(claims.policy)) {
        refusal = "the console token's policy '" + claims.policy + "' does not exist";
        return std::nullopt;
    }
    ClientState state;
    state.client_id = client_id;
    state.token_id = "console-token/" + claims.token_id;
    state.token_policy = claims.policy;
    state.token_expires_at = claims.expires_at;
    state.session_id = random_session_id();
    const char* address = mosquitto_client_address(event.client);
    state.ip_address = address ? address : "";
    state.policy_context.client_id = client_id;
    state.policy_context.region = options_.region;
    state.policy_context.account_id = options_.account_id;
    refresh_policies(state, registry);
    return state;
}

std::optional<ClientState> LocalCoreBroker::authenticate(mosquitto_evt_basic_auth& event,
                                                         std::string& refusal) {
    mosquitto* client = event.client;
    const char* id = mosquitto_client_id(client);
    const std::string client_id = id ? id : "";
    if (client_id.size() > options_.max_client_id_bytes || client_id.starts_with("$")) {
        refusal = "client id '" + client_id + "' is not valid (AWS: at most " +
                  std::to_string(options_.max_client_id_bytes) + " bytes, not starting with '$')";
        return std::nullopt;
    }
    const auto peer = peer_certificate(client);
    if (!peer) return authenticate_token(event, client_id, refusal);
    // A hash lookup in the index; the file is parsed again only if it changed (registry_index.hpp).
    auto checked = authenticate_certificate(current_registry(), peer->fingerprint, client_id);
    if (checked.certificate == nullptr) {
        refusal = std::move(checked.refusal);
        return std::nullopt;
    }
    ClientState state;
    state.client_id = client_id;
    state.certificate_id = peer->fingerprint;
    state.session_id = random_session_id();
    const char* address = mosquitto_client_address(client);
    state.ip_address = address ? address : "";
    state.policy_context.client_id = client_id;
    state.policy_context.certificate_subject = peer->subject;
    state.policy_context.region = options_.region;
    state.policy_context.account_id = options_.account_id;
    state.policy_context.thing_attached = checked.thing_attached;
    state.policy_context.thing_name = checked.thing_attached ? std::optional<std::string>(client_id) : std::nullopt;
    state.policies = std::move(checked.policies);
    return state;
}

int LocalCoreBroker::on_basic_auth(mosquitto_evt_basic_auth& event) {
    std::string refusal;
    auto state = authenticate(event, refusal);
    if (!state) {
        const char* address = mosquitto_client_address(event.client);
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "localcore: refused connection from %s: %s",
                             address ? address : "?", refusal.c_str());
        return MOSQ_ERR_AUTH;
    }
    const Decision decision = state->policies.evaluate(Action::connect, state->client_id, state->policy_context);
    if (!decision.allowed) {
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "localcore: refused connection of '%s': %s",
                             state->client_id.c_str(), decision.reason.c_str());
        publish_connect_failed(*state);
        return MOSQ_ERR_AUTH;
    }
    // A second connection with the same client id takes over: AWS reports the old one as
    // DUPLICATE_CLIENTID.
    for (auto& [other_client, other] : clients_) {
        if (other_client != event.client && other.client_id == state->client_id)
            other.pending_reason = DisconnectReason::duplicate_client_id;
    }
    state->version_number = ++lifecycle_versions_[state->client_id];
    state->websocket = mosquitto_client_protocol(event.client) == mp_websockets;
    state->connected_at = std::chrono::steady_clock::now();
    state->connected_ms = now_ms();
    state->persistent = !mosquitto_client_clean_session(event.client);
    // mosquitto may reuse the address of a context whose disconnection is not yet announced.
    if (ClientState* previous = state_of(event.client); previous && previous->disconnecting)
        finish_disconnect(*previous);
    // An offline persistent session of this client id is taken over by this connection.
    for (auto it = clients_.begin(); it != clients_.end();) {
        if (it->first != event.client && it->second.offline && it->second.client_id == state->client_id)
            it = clients_.erase(it);
        else
            ++it;
    }
    // The session's record, for iot:Receive on its queued messages should the broker restart while
    // it is offline; a clean session ends any earlier session of the client id. (An MQTT 5 clean
    // start with a session expiry interval also leaves a session behind, but a mosquitto 2.0 plugin
    // cannot see the interval, and recording every MQTT 5 connection would keep a file for every
    // client id ever used, e.g. each browser console's random one.)
    if (state->persistent)
        record_session(*state);
    else
        forget_session_record(state->client_id);
    clients_[event.client] = std::move(*state);  // "connected" goes out on the next TICK
    return MOSQ_ERR_SUCCESS;
}

}  // namespace localcore::broker
