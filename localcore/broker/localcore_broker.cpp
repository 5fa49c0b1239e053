// Construction and the helpers shared by the event handlers.
#include "localcore_broker.hpp"

#include "mosquitto_api.hpp"

#include "mqtt_limits.hpp"

#include <algorithm>

namespace localcore::broker {

std::string_view to_string(DisconnectReason reason) {
    switch (reason) {
        case DisconnectReason::client_initiated:
            return "CLIENT_INITIATED_DISCONNECT";
        case DisconnectReason::connection_lost:
            return "CONNECTION_LOST";
        case DisconnectReason::keepalive_timeout:
            return "MQTT_KEEP_ALIVE_TIMEOUT";
        case DisconnectReason::duplicate_client_id:
            return "DUPLICATE_CLIENTID";
        case DisconnectReason::auth_error:
            return "AUTH_ERROR";
        case DisconnectReason::forbidden_access:
            return "FORBIDDEN_ACCESS";
        case DisconnectReason::client_error:
            return "CLIENT_ERROR";
        case DisconnectReason::server_initiated:
            return "SERVER_INITIATED_DISCONNECT";
        case DisconnectReason::customauth_ttl_expiration:
            return "CUSTOMAUTH_TTL_EXPIRATION";
        case DisconnectReason::websocket_ttl_expiration:
            return "WEBSOCKET_TTL_EXPIRATION";
    }
    return "SERVER_ERROR";
}

namespace {

ShadowLimits shadow_limits(const BrokerOptions& options) {
    ShadowLimits limits;
    limits.requests_per_second_per_thing = options.shadow_requests_per_second;
    return limits;
}

}  // namespace

std::uint64_t new_connection_serial() {
    static std::uint64_t last = 0;
    return ++last;
}

LocalCoreBroker::LocalCoreBroker(BrokerOptions options)
    : options_(std::move(options)),
      registry_(Registry::open(options_.data_dir)),
      registry_index_(registry_.file()),
      ca_(Ca::open(options_.data_dir / "ca")),
      // No registry lookup: as on AWS, any thing name the policy allows has shadows.
      shadows_(options_.data_dir, shadow_limits(options_)),
      jobs_(options_.data_dir),
      provisioning_(registry_, ca_, options_.data_dir,
                    ProvisioningOptions{options_.templates_dir, options_.device_cert_lifetime,
                                        options_.ownership_token_ttl}),
      rotation_(registry_),
      sessions_(options_.data_dir) {
    // A shadow 500 says only "Internal service failure" to the client, as AWS does; the reason
    // (a damaged file, a failed write) goes to the broker log.
    shadows_.set_error_sink([](std::string_view what) {
        const std::string text(what);
        mosquitto_log_printf(MOSQ_LOG_ERR, "localcore: shadow service: %s", text.c_str());
    });
    jobs_.set_error_sink([](std::string_view what) {
        const std::string text(what);
        mosquitto_log_printf(MOSQ_LOG_ERR, "localcore: jobs service: %s", text.c_str());
    });
}

std::int64_t LocalCoreBroker::now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

const RegistryIndex& LocalCoreBroker::current_registry() {
    if (registry_index_.refresh()) {
        // Once per change of the file, not per CONNECT: a broken policy grants nothing until fixed.
        for (const std::string& error : registry_index_.policy_errors())
            mosquitto_log_printf(MOSQ_LOG_ERR, "localcore: %s", error.c_str());
    }
    return registry_index_;
}

ClientState* LocalCoreBroker::state_of(const mosquitto* client) {
    const auto it = clients_.find(client);
    return it == clients_.end() ? nullptr : &it->second;
}

const std::string& LocalCoreBroker::principal_of(const ClientState& state) {
    return state.certificate_id.empty() ? state.token_id : state.certificate_id;
}

RequesterContext LocalCoreBroker::requester_of(const ClientState& state) const {
    RequesterContext out;
    out.client_id = state.client_id;
    out.certificate_id = state.certificate_id;
    out.thing = state.policy_context.thing_name;
    return out;
}

void LocalCoreBroker::publish(const OutboundMessage& message, const ClientState* requester) {
    if (message.only_to_requester) {
        // AWS answers only the requesting connection, and only on a topic it subscribed to.
        if (requester == nullptr || !subscribed(*requester, message.topic)) {
            mosquitto_log_printf(MOSQ_LOG_INFO,
                                 "localcore: reply on %s dropped: the requester is not subscribed to it",
                                 message.topic.c_str());
            return;
        }
        // Not mosquitto_broker_publish(clientid): that goes, one loop pass later, to whoever holds
        // the client id then (a takeover) and without a subscription. Published to the topic, the
        // reply reaches subscribers only, and check_reply_delivery lets it through to this very
        // connection only.
        const auto it = std::find_if(clients_.begin(), clients_.end(),
                                     [&](const auto& entry) { return &entry.second == requester; });
        if (it == clients_.end()) return;
        pending_replies_.push_back({message.topic, message.payload, it->first, requester->connection_serial, 0});
    }
    const int rc = mosquitto_broker_publish_copy(nullptr, message.topic.c_str(),
                                                 static_cast<int>(message.payload.size()),
                                                 message.payload.data(), 1, false, nullptr);
    if (rc != MOSQ_ERR_SUCCESS)
        mosquitto_log_printf(MOSQ_LOG_WARNING, "localcore: could not publish on %s: MOSQ_ERR %d",
                             message.topic.c_str(), rc);
}

void LocalCoreBroker::expire_pending_replies() {
    // mosquitto delivers plugin messages at the start of its next loop pass, and TICK ends every
    // pass: a reply is delivered between the first tick after it was queued and the second.
    std::erase_if(pending_replies_, [](PendingReply& reply) { return ++reply.ticks >= 2; });
}

}  // namespace localcore::broker
