// paho.mqtt.cpp behind the MqttClient seam. What paho reports in its own terms (return codes,
// tokens, the failure words it keeps in a token) is turned here into what the connection logic
// decides on: ConnectReport, the PUBACK reason, "lost with the connection".
#include "paho_client.hpp"

#include "tcp_nodelay.hpp"

#include <iotgw/plugins/common/paho_bridge.hpp>
#include <iotgw/plugins/common/paho_compat.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace iotgw::plugins::mqtt {
namespace {

using common::from_context;
using common::Listener;
using common::PahoBridge;
using common::to_context;
using std::chrono::milliseconds;
namespace paho = common::paho;

// paho C's words for a failed connect ("TCP connect completion failure", ...): paho.mqtt.cpp keeps
// them in the token but hands them out only in the exception that get_connect_response() throws
// for a failed token (1.2 and 1.5 alike; the token is complete here, so it does not wait).
std::string failure_message(const ::mqtt::token& tok) {
    try {
        (void)tok.get_connect_response();
    } catch (const ::mqtt::exception& e) {
        return e.get_message();
    } catch (const std::exception&) {}
    return {};
}

// A QoS 1 publish that paho failed because the connection went, not one the broker refused:
// paho.mqtt.c's MQTTASYNC_FAILURE, MQTTASYNC_DISCONNECTED or MQTTASYNC_OPERATION_INCOMPLETE
// ("discarded before completion") without a reason code from the broker.
bool lost_with_the_connection(int rc, int reason) {
    return (rc == MQTTASYNC_FAILURE || rc == MQTTASYNC_DISCONNECTED ||
            rc == MQTTASYNC_OPERATION_INCOMPLETE) &&
           (reason == 0 || reason == 0xFF);
}

// What paho needs to connect, from the checked settings.
paho::ConnectSettings connect_settings(const MqttSettings& s) {
    paho::ConnectSettings c;
    c.mqtt5 = s.mqtt5;
    c.clean_start = s.clean_start;
    c.session_expiry = std::chrono::duration_cast<std::chrono::seconds>(s.session_expiry);
    c.keepalive = std::chrono::duration_cast<std::chrono::seconds>(s.keepalive);
    c.connect_timeout = s.connect_timeout;
    c.will = s.will.enabled;
    c.will_topic = s.will.topic;
    c.will_payload = s.will.payload;
    c.will_qos = s.will.qos;
    c.will_retain = s.will.retain;
    return c;
}

class PahoClient final : public MqttClient {
public:
    PahoClient(sdk::Host host, const MqttSettings& s, ClientEvents& events)
        : host_(host),
          events_(&events),
          port_(s.port),
          alpn_(s.alpn),
          connect_(connect_settings(s)),
          bridge_(std::make_shared<PahoBridge>(host)) {
        settings_.server_uri = "ssl://" + s.endpoint + ":" + std::to_string(s.port);
        settings_.client_id = s.client_id;
        settings_.mqtt5 = s.mqtt5;
        // paho's own buffer: the offline queue's size and some room.
        settings_.max_buffered =
            static_cast<int>(std::min<int64_t>(s.offline_queue_messages, 1000000) + 1000);
        install_listeners();
        new_client();
    }

    ~PahoClient() override {
        // paho must no longer reach the listeners or the events, which go with this object.
        bridge_->close();
        client_.reset();
    }

    void connect(uint64_t generation, const TlsFiles& tls) override {
        if (fresh_client_needed_) {
            fresh_client_needed_ = false;
            new_client();
        }
        paho::TlsSettings t;
        t.trust_store = tls.trust_store;
        t.cert_chain = tls.cert_chain;
        t.private_key = tls.private_key;
        t.alpn = alpn_;
        try {
            paho::connect(*client_, connect_, paho::make_ssl(t), to_context(generation), *connect_listener_);
        } catch (const ::mqtt::exception& e) {
            throw std::runtime_error(paho::describe(e.get_return_code(), e.get_reason_code()));
        }
    }

    void after_connect() override {
        if (set_nodelay_on_sockets_to(static_cast<uint16_t>(port_)) == 0)
            host_.debug("could not set TCP_NODELAY on the connection (replies may wait ~40 ms on Nagle)");
    }

    void subscribe(const std::string& filter, int qos, uint64_t index) override {
        client_->subscribe(filter, qos, to_context(index), *subscribe_listener_);
    }

    SendResult publish(const OutMessage& m, std::optional<uint32_t> expiry_s, std::string& why) override {
        try {
            client_->publish(paho::make_message(m.topic, m.payload, m.qos, m.retain, expiry_s),
                             to_context(m.sends), *publish_listener_);
            return SendResult::sent;
        } catch (const ::mqtt::exception& e) {
            if (paho::is_disconnected_error(e.get_return_code())) return SendResult::disconnected;
            why = paho::describe(e.get_return_code(), e.get_reason_code());
            return SendResult::failed;
        }
    }

    void disconnect_for_switch(uint64_t generation) override {
        try {
            // No grace period: paho would hold the switch for it, and QoS 1 messages in flight are
            // resent in the resumed session.
            client_->disconnect(0, to_context(generation), *switch_listener_);
        } catch (const std::exception& e) {
            host_.debug("disconnect before the credentials switch: ", e.what());
            events_->on_switch_disconnected(generation);
        }
    }

    std::string close(const std::optional<Farewell>& status) override {
        std::string problems;
        if (status) {
            try {
                auto tok = client_->publish(
                    paho::make_message(status->topic, status->payload, status->qos, status->retain));
                if (!paho::wait_ok(tok, milliseconds(1000)))
                    problems = "the offline status on " + status->topic +
                               " was not acknowledged within 1 s before disconnecting";
            } catch (const std::exception& e) {
                problems = "cannot publish the offline status on " + status->topic + ": " + e.what();
            }
        }
        try {
            paho::wait_ok(client_->disconnect(1000), milliseconds(2000));
        } catch (const std::exception& e) {
            host_.debug("disconnect: ", e.what());
        }
        return problems;
    }

    void forget_in_flight() override { fresh_client_needed_ = true; }

    void detach() noexcept override { bridge_->close(); }

private:
    // A new paho client in place of the old one, whose in-flight state must not be resumed
    // (forget_in_flight). The broker keeps our session: same client id, clean start off.
    void new_client() {
        client_.reset();
        client_ = paho::make_client(settings_);
        install_client_callbacks();
    }

    // The client's own callbacks; set again on every new client.
    void install_client_callbacks() {
        auto bridge = bridge_;
        ClientEvents* events = events_;
        client_->set_message_callback([bridge, events](::mqtt::const_message_ptr msg) {
            if (!msg) return;
            bridge->post([events, topic = msg->get_topic(), payload = msg->to_string(), qos = msg->get_qos(),
                          retained = msg->is_retained(), expiry = paho::message_expiry(*msg)] {
                events->on_incoming(topic, payload, qos, retained, expiry);
            });
        });
        client_->set_connection_lost_handler([bridge, events](const std::string& cause) {
            bridge->post([events, cause] { events->on_lost(cause.empty() ? "connection lost" : cause, 0); });
        });
        client_->set_disconnected_handler([bridge, events](const ::mqtt::properties&, ::mqtt::ReasonCode rc) {
            const int code = static_cast<int>(rc);
            bridge->post([events, code] {
                events->on_lost("the broker sent DISCONNECT: " + paho::describe(0, code), code);
            });
        });
    }

    // The token listeners, created once: they hold no client, so they serve every client this
    // object makes.
    void install_listeners() {
        auto bridge = bridge_;
        ClientEvents* events = events_;
        connect_listener_ = std::make_unique<Listener>([bridge, events](const ::mqtt::token& tok, bool ok) {
            const uint64_t gen = from_context(tok.get_user_context());
            if (ok) {
                const bool sp = paho::session_present(tok);
                bridge->post([events, gen, sp] { events->on_connected(gen, sp); });
                return;
            }
            ConnectReport report{tok.get_return_code(), paho::reason_code(tok), failure_message(tok)};
            bridge->post([events, gen, report] { events->on_connect_failed(gen, report); });
        });
        publish_listener_ = std::make_unique<Listener>([bridge, events](const ::mqtt::token& tok, bool ok) {
            if (ok) {
                bridge->post([events] { events->on_published(); });
                return;
            }
            // The message itself, to send it again if the refusal is worth a retry; the user
            // context carries how often it was refused before.
            OutMessage m;
            if (auto* dt = dynamic_cast<const ::mqtt::delivery_token*>(&tok);
                dt != nullptr && dt->get_message()) {
                const auto& msg = dt->get_message();
                m = OutMessage{msg->get_topic(), msg->to_string(), msg->get_qos(), msg->is_retained(),
                               static_cast<unsigned>(from_context(tok.get_user_context()))};
                // What was left of its expiry when it was sent; counted again from now.
                if (const auto expiry = paho::message_expiry(*msg))
                    m.expires = std::chrono::steady_clock::now() + std::chrono::seconds(*expiry);
            }
            const int reason = paho::reason_code(tok);
            const int rc = tok.get_return_code();
            const bool lost = lost_with_the_connection(rc, reason);
            std::string why = paho::describe(rc, reason);
            bridge->post([events, m = std::move(m), reason, lost, why]() mutable {
                events->on_publish_failed(std::move(m), reason, lost, why);
            });
        });
        switch_listener_ = std::make_unique<Listener>([bridge, events](const ::mqtt::token& tok, bool) {
            const uint64_t gen = from_context(tok.get_user_context());
            bridge->post([events, gen] { events->on_switch_disconnected(gen); });
        });
        subscribe_listener_ = std::make_unique<Listener>([bridge, events](const ::mqtt::token& tok, bool ok) {
            const uint64_t index = from_context(tok.get_user_context());
            std::vector<int> codes = paho::subscribe_codes(tok);
            std::string why =
                ok ? std::string() : paho::describe(tok.get_return_code(), paho::reason_code(tok));
            bridge->post([events, index, codes, why, ok] { events->on_subscribed(index, ok, codes, why); });
        });
    }

    sdk::Host host_;
    ClientEvents* events_;
    const int port_;
    const std::string alpn_;
    const paho::ConnectSettings connect_;
    paho::ClientSettings settings_;
    bool fresh_client_needed_ = false;

    // Declared in this order so the client goes first: paho holds the listeners and the bridge
    // until then.
    std::shared_ptr<PahoBridge> bridge_;
    std::unique_ptr<Listener> connect_listener_, publish_listener_, subscribe_listener_, switch_listener_;
    std::unique_ptr<::mqtt::async_client> client_;
};

}  // namespace

std::unique_ptr<MqttClient> make_paho_client(sdk::Host host, const MqttSettings& settings,
                                             ClientEvents& events) {
    return std::make_unique<PahoClient>(host, settings, events);
}

}  // namespace iotgw::plugins::mqtt
