// `mqtt`: the connection to AWS IoT Core (or a local broker) over MQTT 3.1.1 or 5 with mutual TLS.
// Pipelines address it as "name:topic" (publish) and "name:filter" (subscribe). It reconnects by
// itself forever (the first attempt after a loss spread over `reconnect_spread`, then exponential
// backoff with full jitter: reconnect_backoff.hpp), queues what is published while offline,
// notices when another connection takes its client id and backs off, and reports its link state
// as the retained internal event "$iotgw/instance/<name>/link" (with the AWS certificate id it
// connected with). When its credentials instance announces new credentials ("$iotgw/instance/
// <credentials>/changed", after a renewal), it reconnects with them at once, keeping its queue.
// Publishes are paced under AWS's per-connection rate (publish_pacer.hpp); a QoS 1 publish the
// broker refuses for its rate (PUBACK 0x97, localcore 0x87) is queued again and retried after a
// backoff (publish_refusal.hpp). A failed connect is classified (connect_failure.hpp): the link
// event counts the attempts in a row that refused this identity apart from the others, so that
// fleet_provisioning replaces a refused certificate but not one that met an outage.
//
// Threads: paho runs its own threads; they only post into the loop (PahoBridge). All state below
// is touched on the loop thread only.
#include "connect_failure.hpp"
#include "link_event.hpp"
#include "mqtt_settings.hpp"
#include "offline_queue.hpp"
#include "publish_pacer.hpp"
#include "publish_refusal.hpp"
#include "reconnect_backoff.hpp"
#include "schema.hpp"
#include "tcp_nodelay.hpp"
#include "topic_rules.hpp"

#include <iotgw/plugins/common/backoff.hpp>
#include <iotgw/plugins/common/certificate_info.hpp>
#include <iotgw/plugins/common/paho_bridge.hpp>
#include <iotgw/plugins/common/paho_compat.hpp>
#include <iotgw/plugins/common/seconds_text.hpp>
#include <iotgw/plugins/common/trust_store.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace iotgw::plugins::mqtt {
namespace {

using common::Backoff;
using common::from_context;
using common::Listener;
using common::PahoBridge;
using common::read_certificate_info;
using common::seconds_text;
using common::to_context;
using std::chrono::milliseconds;
namespace paho = common::paho;

// A connection lost this soon after CONNACK, twice in a row, is taken for a client-id takeover
// when the broker gives no reason (MQTT 3.1.1, or mosquitto, which closes without 0x8E).
constexpr int64_t kQuickLossNs = 5'000'000'000;
// A connection that lived this long resets the backoff.
constexpr int64_t kStableNs = 10'000'000'000;
constexpr int64_t kFailureLogIntervalNs = 10'000'000'000;
// How long publishing pauses after the broker refused one for its rate: AWS's bucket refills in a
// second, so the first pauses are short, and they grow (with jitter) while refusals go on.
constexpr milliseconds kRefusalBackoffMin{200};
constexpr milliseconds kRefusalBackoffMax{5000};

// paho C's words for a failed connect ("TCP connect completion failure", ...): paho.mqtt.cpp keeps
// them in the token but hands them out only in the exception that get_connect_response() throws
// for a failed token (1.2 and 1.5 alike; the token is complete here, so it does not wait).
std::string failure_message(const ::mqtt::token& tok) {
    try {
        (void)tok.get_connect_response();
    } catch (const ::mqtt::exception& e) {
        return e.get_message();
    } catch (const std::exception&) {
    }
    return {};
}

// A QoS 1 publish that paho failed because the connection went, not one the broker refused:
// paho.mqtt.c's MQTTASYNC_FAILURE, MQTTASYNC_DISCONNECTED or MQTTASYNC_OPERATION_INCOMPLETE
// ("discarded before completion") without a reason code from the broker.
bool lost_with_the_connection(int rc, int reason) {
    return (rc == MQTTASYNC_FAILURE || rc == MQTTASYNC_DISCONNECTED || rc == MQTTASYNC_OPERATION_INCOMPLETE) &&
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

struct Endpoint {
    sdk::Direction direction;
    std::string address;  // topic (output) or filter (input)
};

class Mqtt final : public sdk::Connection {
public:
    Mqtt(sdk::Host host, const sdk::Config& cfg) : Mqtt(host, parse_settings(cfg)) {}

    ~Mqtt() override {
        // stop() may not have run (a refused start): make sure paho can no longer reach us.
        bridge_->close();
        client_.reset();
    }

    uint32_t open_endpoint(sdk::Direction direction, std::string_view address) override {
        const std::string a(address);
        if (direction == sdk::Direction::input) {
            if (auto why = check_subscribe_filter(a, scope_))
                throw sdk::ConfigError("subscription '" + a + "' " + *why);
        } else {
            if (auto why = check_publish_topic(a, scope_))
                throw sdk::ConfigError("publish topic '" + a + "' " + *why);
        }
        endpoints_.push_back(Endpoint{direction, a});
        return static_cast<uint32_t>(endpoints_.size());
    }

    void start() override {
        client_settings_.server_uri = "ssl://" + endpoint_ + ":" + std::to_string(port_);
        client_settings_.client_id = client_id_;
        client_settings_.mqtt5 = mqtt5_;
        client_settings_.max_buffered = max_buffered_;
        client_ = paho::make_client(client_settings_);
        install_client_callbacks();
        install_listeners();
        credentials_changed_ = host().subscribe_events("$iotgw/instance/" + credentials_ + "/changed",
                                                       [this](std::string_view, std::string_view payload) {
                                                           on_credentials_changed(std::string(payload));
                                                       });
        connect_now();  // asynchronous: returns at once, the result is posted back
    }

    void stop() noexcept override {
        if (state_ == State::stopped) return;
        const State was = state_;
        state_ = State::stopped;
        reconnect_timer_.cancel();
        send_timer_.cancel();
        credentials_changed_.reset();
        if (client_ && was == State::connected) {
            if (publish_on_stop_ && connect_.will) {
                try {
                    auto tok = client_->publish(paho::make_message(connect_.will_topic, connect_.will_payload,
                                                                   connect_.will_qos, connect_.will_retain));
                    if (!paho::wait_ok(tok, milliseconds(1000)))
                        host().warning("the offline status on ", connect_.will_topic,
                                       " was not acknowledged within 1 s before disconnecting");
                } catch (const std::exception& e) {
                    host().warning("cannot publish the offline status on ", connect_.will_topic, ": ",
                                   e.what());
                }
            }
            try {
                paho::wait_ok(client_->disconnect(1000), milliseconds(2000));
            } catch (const std::exception& e) {
                host().debug("disconnect: ", e.what());
            }
            disconnects_.add();
        }
        bridge_->close();
        connected_gauge_.set(0);
        report_drops();
        if (!queue_.empty()) {
            queue_dropped_.add(queue_.size());
            host().warning("stopping with ", queue_.size(),
                           " message(s) still in the offline queue: they are dropped");
            queue_.clear();
            queue_depth_.set(0);
        }
        host().info("stopped");
    }

    void on_message(const sdk::Delivery&, uint32_t endpoint_id, const sdk::Message& m) override {
        if (m.qos < 0 || m.qos > 1)
            throw sdk::Error("message on '" + std::string(m.topic) + "' has QoS " + std::to_string(m.qos) +
                             ": only QoS 0 and 1 are supported (AWS IoT refuses QoS 2)");
        std::string topic;
        if (endpoint_id == 0) {
            topic = std::string(m.topic);
            if (auto why = check_publish_topic(topic, scope_))
                throw sdk::Error("cannot publish to '" + topic + "': the topic " + *why);
        } else {
            if (endpoint_id > endpoints_.size() ||
                endpoints_[endpoint_id - 1].direction != sdk::Direction::output)
                throw sdk::Error("endpoint " + std::to_string(endpoint_id) + " is not a publish endpoint");
            topic = endpoints_[endpoint_id - 1].address;
        }
        if (m.payload.size() > kMaxPayloadBytes)
            throw sdk::Error("cannot publish to '" + topic + "': the payload is " +
                             std::to_string(m.payload.size()) + " bytes; AWS IoT allows at most " +
                             std::to_string(kMaxPayloadBytes) + " (128 KiB)");
        if (state_ == State::stopped) throw sdk::Error("the connection is stopped");
        OutMessage out{std::move(topic), std::string(m.payload), m.qos, m.retain};
        // MQTT 3.1.1 has no message expiry: the message goes without one (plugins/mqtt/README.md).
        if (m.expiry_s && mqtt5_)
            out.expires = std::chrono::steady_clock::now() + std::chrono::seconds(*m.expiry_s);
        submit(std::move(out));
    }

private:
    enum class State { idle, connecting, connected, switching, waiting, stopped };

    Mqtt(sdk::Host host, const MqttSettings& s)
        : Connection(host),
          endpoint_(s.endpoint),
          port_(s.port),
          alpn_(s.alpn),
          credentials_(s.credentials),
          client_id_(s.client_id),
          mqtt5_(s.mqtt5),
          subscribe_qos_(s.subscribe_qos),
          takeover_backoff_(s.takeover_backoff),
          publish_on_stop_(s.publish_on_stop),
          scope_(s.topic_scope),
          connect_(connect_settings(s)),
          max_buffered_(static_cast<int>(std::min<int64_t>(s.offline_queue_messages, 1000000) + 1000)),
          backoff_(reconnect_backoff_settings(s)),
          reconnect_spread_(s.reconnect_spread),
          queue_(static_cast<std::size_t>(s.offline_queue_messages),
                 static_cast<std::size_t>(s.offline_queue_bytes),
                 s.drop_newest ? OfflineQueue::Drop::newest : OfflineQueue::Drop::oldest),
          drop_newest_(s.drop_newest),
          pacer_(s.publish_rate_per_second),
          refusal_backoff_({.min = kRefusalBackoffMin, .max = kRefusalBackoffMax}),
          connects_(host.counter("connects", "successful connects (CONNACK accepted)")),
          disconnects_(host.counter("disconnects", "connections lost or closed by the broker")),
          reconnect_attempts_(host.counter("reconnect_attempts", "connect attempts after the first one")),
          published_(host.counter("published",
                                  "messages the broker acknowledged (QoS 1) or that were sent (QoS 0)")),
          publish_failed_(
              host.counter("publish_failed", "publishes paho or the broker reported as failed, not retried")),
          publish_retried_(host.counter(
              "publish_retried", "publishes the broker refused for its rate, queued again to be retried")),
          received_(host.counter("received", "messages received from the broker")),
          queue_dropped_(host.counter(
              "queue_dropped", "messages dropped: the queue was full, or the broker kept refusing them")),
          takeovers_(host.counter("takeovers", "times another connection took over the client id")),
          expired_(
              host.counter("expired", "messages not sent: their MQTT 5 message expiry ran out in the queue")),
          queue_depth_(
              host.gauge("queue_depth", "messages waiting in the queue (offline, paced or retried)")),
          connected_gauge_(host.gauge("connected", "1 while connected to the broker")),
          reconnect_timer_(host.timer([this] { connect_now(); })),
          send_timer_(host.timer([this] { flush(); })) {}

    // The client's own callbacks; set again on every new client (replace_client()).
    void install_client_callbacks() {
        auto bridge = bridge_;
        Mqtt* self = this;
        client_->set_message_callback([bridge, self](::mqtt::const_message_ptr msg) {
            if (!msg) return;
            bridge->post([self, topic = msg->get_topic(), payload = msg->to_string(), qos = msg->get_qos(),
                          retained = msg->is_retained(), expiry = paho::message_expiry(*msg)] {
                self->on_incoming(topic, payload, qos, retained, expiry);
            });
        });
        client_->set_connection_lost_handler([bridge, self](const std::string& cause) {
            bridge->post([self, cause] { self->on_lost(cause.empty() ? "connection lost" : cause, 0); });
        });
        client_->set_disconnected_handler([bridge, self](const ::mqtt::properties&, ::mqtt::ReasonCode rc) {
            const int code = static_cast<int>(rc);
            bridge->post([self, code] {
                self->on_lost("the broker sent DISCONNECT: " + paho::describe(0, code), code);
            });
        });
    }

    // The token listeners, created once: they hold no client, so they serve every client this
    // instance makes.
    void install_listeners() {
        auto bridge = bridge_;
        Mqtt* self = this;
        connect_listener_ = std::make_unique<Listener>([bridge, self](const ::mqtt::token& tok, bool ok) {
            const uint64_t gen = from_context(tok.get_user_context());
            if (ok) {
                const bool sp = paho::session_present(tok);
                bridge->post([self, gen, sp] { self->on_connected(gen, sp); });
            } else {
                ConnectReport report{tok.get_return_code(), paho::reason_code(tok), failure_message(tok)};
                bridge->post([self, gen, report] { self->on_connect_failed(gen, report); });
            }
        });
        publish_listener_ = std::make_unique<Listener>([bridge, self](const ::mqtt::token& tok, bool ok) {
            if (ok) {
                bridge->post([self] { self->on_published(); });
                return;
            }
            // The message itself, to send it again if the refusal is worth a retry; the user
            // context carries how often it was refused before.
            OutMessage m;
            if (auto* dt = dynamic_cast<const ::mqtt::delivery_token*>(&tok); dt != nullptr && dt->get_message()) {
                const auto& msg = dt->get_message();
                m = OutMessage{msg->get_topic(), msg->to_string(), msg->get_qos(), msg->is_retained(),
                               static_cast<unsigned>(from_context(tok.get_user_context()))};
                // What was left of its expiry when it was sent; counted again from now.
                if (const auto expiry = paho::message_expiry(*msg))
                    m.expires = std::chrono::steady_clock::now() + std::chrono::seconds(*expiry);
            }
            const int reason = paho::reason_code(tok);
            const int rc = tok.get_return_code();
            std::string why = paho::describe(rc, reason);
            bridge->post([self, m = std::move(m), reason, rc, why]() mutable {
                self->on_publish_refused(std::move(m), reason, rc, why);
            });
        });
        switch_listener_ = std::make_unique<Listener>([bridge, self](const ::mqtt::token& tok, bool) {
            const uint64_t gen = from_context(tok.get_user_context());
            bridge->post([self, gen] { self->on_switch_disconnected(gen); });
        });
        subscribe_listener_ = std::make_unique<Listener>([bridge, self](const ::mqtt::token& tok, bool ok) {
            const uint64_t index = from_context(tok.get_user_context());
            std::vector<int> codes = paho::subscribe_codes(tok);
            std::string why =
                ok ? std::string() : paho::describe(tok.get_return_code(), paho::reason_code(tok));
            bridge->post([self, index, codes, why, ok] { self->on_subscribed(index, ok, codes, why); });
        });
    }

    // ---- connecting ----

    void connect_now() {
        if (state_ == State::stopped) return;
        if (attempts_++ > 0) reconnect_attempts_.add();
        state_ = State::connecting;
        const uint64_t gen = ++generation_;
        sdk::Credentials creds;
        try {
            creds = host().credentials(credentials_);
        } catch (const std::exception& e) {
            fail_attempt(std::string("no credentials: ") + e.what(),
                         ConnectFailureKind::credentials_unusable);
            return;
        }
        paho::TlsSettings tls;
        tls.trust_store = common::trust_store_or_system(creds.ca_path);
        tls.cert_chain = creds.cert_chain_path;
        tls.private_key = creds.private_key_path;
        tls.alpn = alpn_;
        cert_in_use_ = creds.cert_chain_path;
        const auto info = read_certificate_info(creds.cert_chain_path);
        cert_id_ = info ? info->id : std::string();
        if (replace_client_) replace_client();
        try {
            paho::connect(*client_, connect_, paho::make_ssl(tls), to_context(gen), *connect_listener_);
        } catch (const ::mqtt::exception& e) {
            fail_attempt(paho::describe(e.get_return_code(), e.get_reason_code()),
                         ConnectFailureKind::client_error);
        } catch (const std::exception& e) {
            fail_attempt(e.what(), ConnectFailureKind::client_error);
        }
    }

    void on_connected(uint64_t gen, bool session_present) {
        if (state_ != State::connecting || gen != generation_) return;
        if (switch_requested_) {
            // Connected with the credentials from before the change: switch right away.
            state_ = State::connected;
            begin_switch();
            return;
        }
        state_ = State::connected;
        connected_at_ns_ = sdk::Timer::now_ns();
        refusals_ = 0;  // the broker accepted this identity
        connects_.add();
        connected_gauge_.set(1);
        const uint64_t reconnects = successful_connects_++;
        if (set_nodelay_on_sockets_to(static_cast<uint16_t>(port_)) == 0)
            host().debug("could not set TCP_NODELAY on the connection (replies may wait ~40 ms on Nagle)");
        host().notice("connected to ", endpoint_, ":", port_, " as '", client_id_, "' (MQTT ",
                      mqtt5_ ? "5" : "3.1.1", ", session ", session_present ? "resumed" : "new", ")");
        for (std::size_t i = 0; i < endpoints_.size(); ++i) {
            if (endpoints_[i].direction != sdk::Direction::input) continue;
            try {
                client_->subscribe(endpoints_[i].address, subscribe_qos_, to_context(i),
                                   *subscribe_listener_);
            } catch (const std::exception& e) {
                host().error("cannot subscribe to '", endpoints_[i].address, "': ", e.what());
            }
        }
        publish_link(link_connected(session_present, reconnects, cert_id_));
        report_drops();
        // The broker's throttle starts afresh with the connection.
        hold_until_ns_ = 0;
        refusal_episodes_ = 0;
        sent_since_connect_ = 0;
        backlog_pending_ = !queue_.empty();
        flush();
    }

    void on_connect_failed(uint64_t gen, const ConnectReport& report) {
        if (state_ != State::connecting || gen != generation_) return;
        const ConnectFailure failure = classify_connect_failure(report);
        std::string text = describe_connect_failure(failure, report);
        if (failure.kind == ConnectFailureKind::network && report.rc == -1)
            text +=
                " (paho reports only this for an unreachable broker and, under TLS 1.3, for a client "
                "certificate the broker refuses: check that the broker is reachable and that " +
                cert_in_use_ + " is valid, not revoked and issued by a CA the broker trusts)";
        // Under TLS 1.3 a certificate refused in the handshake can also end up here, when the
        // alert arrives after CONNECT was written.
        if (failure.kind == ConnectFailureKind::closed_before_connack)
            text += " (check that " + cert_in_use_ +
                    " is valid, not revoked and issued by a CA the broker trusts, and ACTIVE in its registry)";
        fail_attempt(text, failure.kind);
    }

    // A new paho client in place of the old one, whose in-flight state must not be resumed (see
    // on_publish_refused). The broker keeps our session: same client id, clean start off.
    void replace_client() {
        replace_client_ = false;
        client_.reset();
        client_ = paho::make_client(client_settings_);
        install_client_callbacks();
        host().info("publishes in flight went with the connection and are queued again; connecting with a "
                    "new MQTT client so that they are sent once, from the queue");
    }

    void fail_attempt(const std::string& why, ConnectFailureKind failure_kind) {
        state_ = State::waiting;
        if (switch_requested_) {
            // The attempt used the credentials from before the change: try the new ones now.
            switch_requested_ = false;
            failures_ = 0;
            refusals_ = 0;
            last_failure_.clear();
            host().debug("connect attempt failed (", why, "); retrying at once with the changed credentials");
            connect_now();
            return;
        }
        const milliseconds delay = backoff_.delay(failures_++);
        // The same failure again and again is one warning and then debug lines, not a flood.
        if (why != last_failure_) {
            host().warning("cannot connect to ", endpoint_, ":", port_, " as '", client_id_, "': ", why,
                           "; retrying in ", seconds_text(delay));
            last_failure_ = why;
        } else {
            host().debug("connect attempt failed again: ", why, "; retrying in ", seconds_text(delay));
        }
        // Refusals of this identity in a row: any other failure in between, or another
        // certificate, starts them again (an outage says nothing about the certificate).
        if (refuses_identity(failure_kind))
            refusals_ = refused_cert_id_ == cert_id_ ? refusals_ + 1 : 1;
        else
            refusals_ = 0;
        refused_cert_id_ = cert_id_;
        // Every failed attempt, with the counts, its kind and the certificate tried:
        // fleet_provisioning recovers through the claim path when the broker keeps refusing a
        // certificate it checked itself.
        publish_link(
            link_attempt_failed(why, failures_, refusals_, connect_failure_name(failure_kind), cert_id_));
        reconnect_timer_.arm_in(delay);
    }

    void on_lost(const std::string& why, int reason) {
        if (state_ != State::connected) return;
        state_ = State::waiting;
        disconnects_.add();
        connected_gauge_.set(0);
        const int64_t lived = sdk::Timer::now_ns() - connected_at_ns_;
        if (lived >= kStableNs) failures_ = 0;
        bool takeover = reason == paho::kSessionTakenOver;
        std::string how = "the broker sent DISCONNECT 0x8E (session taken over)";
        if (!takeover) {
            quick_losses_ = lived < kQuickLossNs ? quick_losses_ + 1 : 0;
            if (quick_losses_ >= 2) {
                takeover = true;
                how = "the broker closed the connection " + std::to_string(quick_losses_) +
                      " times in a row within " + std::to_string(kQuickLossNs / 1'000'000'000) +
                      " s of connecting (a policy that refuses a publish or subscribe looks the same)";
            }
        }
        publish_link(link_down(takeover ? "client id taken over by another connection" : why));
        milliseconds delay;
        if (takeover) {
            quick_losses_ = 0;
            takeovers_.add();
            delay = backoff_.jittered(takeover_backoff_);
            host().warning(
                "client id ", client_id_,
                " was taken over by another connection (another gateway or client uses the same client "
                "id): ",
                how, "; waiting ", seconds_text(delay), " before reconnecting");
        } else {
            // After a stable connection failures_ is 0: the first attempt is spread over the window.
            delay = delay_after_loss(backoff_, reconnect_spread_, failures_++);
            host().warning("connection to ", endpoint_, ":", port_, " lost: ", why, "; reconnecting in ",
                           seconds_text(delay));
        }
        last_failure_.clear();
        reconnect_timer_.arm_in(delay);
    }

    // ---- credentials renewed ----

    void on_credentials_changed(const std::string& payload) {
        host().notice("credentials '", credentials_, "' changed (", payload,
                      "): reconnecting with them; messages published meanwhile are queued");
        switch (state_) {
            case State::connected:
                begin_switch();
                break;
            case State::connecting:
                switch_requested_ = true;  // decided when this attempt ends
                break;
            case State::waiting:
                reconnect_timer_.cancel();
                failures_ = 0;
                refusals_ = 0;
                last_failure_.clear();
                connect_now();
                break;
            case State::idle:
            case State::switching:
            case State::stopped:
                break;
        }
    }

    // A clean DISCONNECT (no Will: the status stays "online") and a new connect as soon as
    // paho confirms it; the offline queue holds what is published in between.
    void begin_switch() {
        switch_requested_ = false;
        state_ = State::switching;
        connected_gauge_.set(0);
        disconnects_.add();
        publish_link(link_down("reconnecting with changed credentials"));
        const uint64_t gen = ++generation_;
        try {
            // No grace period: paho would hold the switch for it, and QoS 1 messages in flight are
            // resent in the resumed session.
            client_->disconnect(0, to_context(gen), *switch_listener_);
        } catch (const std::exception& e) {
            host().debug("disconnect before the credentials switch: ", e.what());
            on_switch_disconnected(gen);
        }
    }

    void on_switch_disconnected(uint64_t gen) {
        if (state_ != State::switching || gen != generation_) return;
        host().info("disconnected; connecting with the changed credentials");
        failures_ = 0;
        refusals_ = 0;
        last_failure_.clear();
        connect_now();
    }

    void publish_link(const LinkEvent& event) {
        try {
            host().publish_event("link", link_event_json(event), true);
        } catch (const std::exception& e) {
            host().debug("link event: ", e.what());
        }
    }

    // ---- publishing ----

    // Every message goes through the queue, so the pace and the order hold for all of them.
    void submit(OutMessage m) {
        enqueue(std::move(m));
        flush();
    }

    // False if paho says the connection is gone: the caller keeps the message.
    bool send(const OutMessage& m) {
        std::optional<uint32_t> expiry_s;
        if (m.expires) {
            // The expiry left after the time in the queue, in whole seconds rounded up as the
            // broker counts them; a message whose expiry ran out is not sent at all.
            const auto left =
                std::chrono::ceil<std::chrono::seconds>(*m.expires - std::chrono::steady_clock::now());
            if (left.count() <= 0) {
                expired_.add();
                host().debug("not sent to '", m.topic, "': its message expiry ran out while it was queued");
                return true;
            }
            expiry_s = static_cast<uint32_t>(std::min<int64_t>(left.count(), UINT32_MAX));
        }
        try {
            client_->publish(paho::make_message(m.topic, m.payload, m.qos, m.retain, expiry_s),
                             to_context(m.sends), *publish_listener_);
            return true;
        } catch (const ::mqtt::exception& e) {
            if (paho::is_disconnected_error(e.get_return_code())) return false;
            report_failure(m.topic, paho::describe(e.get_return_code(), e.get_reason_code()));
            return true;
        }
    }

    void enqueue(OutMessage m) { count_drops(queue_.push(std::move(m))); }

    void count_drops(const std::vector<OutMessage>& dropped) {
        for (const auto& d : dropped) {
            queue_dropped_.add();
            ++drops_unreported_;
            if (!drop_logged_) {
                drop_logged_ = true;
                host().warning("offline queue full (", queue_.size(), " messages, ", queue_.bytes(),
                               " bytes; the link is down or publishing is held back by the publish rate): "
                               "dropped the ",
                               drop_newest_ ? "newest" : "oldest", " message (topic '", d.topic,
                               "'); further drops are summarized when the queue is empty again");
                drops_unreported_ = 0;
            }
        }
        queue_depth_.set(static_cast<double>(queue_.size()));
    }

    // Sends what the queue holds, in order, as fast as the pace allows; the send timer comes back
    // for the rest (after the next token, or after a hold that follows a refusal).
    void flush() {
        if (state_ != State::connected) return;
        const int64_t now = sdk::Timer::now_ns();
        if (now < hold_until_ns_) {
            send_timer_.arm_at(hold_until_ns_);
            return;
        }
        std::size_t sent = 0;
        while (!queue_.empty()) {
            if (!pacer_.try_take(now)) {
                send_timer_.arm_in(std::chrono::nanoseconds(pacer_.wait_ns(now)));
                break;
            }
            if (!send(queue_.front())) break;
            queue_.pop_front();
            ++sent;
        }
        queue_depth_.set(static_cast<double>(queue_.size()));
        sent_since_connect_ += sent;
        if (queue_.empty()) {
            if (backlog_pending_)
                host().info("sent ", sent_since_connect_, " message(s) queued while offline");
            backlog_pending_ = false;
            report_drops();
        }
    }

    void report_drops() {
        if (drops_unreported_ > 0)
            host().warning("offline queue dropped ", drops_unreported_,
                           " more message(s) while disconnected");
        drops_unreported_ = 0;
        drop_logged_ = false;
    }

    void on_published() {
        published_.add();
        // An acknowledgement after the hold: the broker takes the current pace.
        if (sdk::Timer::now_ns() >= hold_until_ns_) refusal_episodes_ = 0;
    }

    // A QoS 1 publish the broker refused in its PUBACK (or paho gave up on).
    void on_publish_refused(OutMessage m, int reason, int rc, const std::string& why) {
        if (state_ == State::stopped) return;
        if (m.topic.empty()) {  // paho did not say which message: nothing to send again
            report_failure(m.topic, why);
            return;
        }
        if (lost_with_the_connection(rc, reason)) {
            // Sent but not acknowledged when the connection went. paho says it failed, yet keeps
            // it for the resumed session and sends it again after the reconnect, from memory it
            // has freed: seen in the soak as a PUBLISH whose topic was garbage, which the broker
            // refused as malformed at every reconnect from then on (the gateway never stayed
            // connected again). The message goes back into our queue, in order, and the next
            // connect uses a new client, so paho has nothing of its own to resend.
            host().debug("publish to '", m.topic, "' went with the connection (", why, "): queued again");
            publish_retried_.add();
            count_drops(queue_.requeue(std::move(m)));
            replace_client_ = true;
            return;
        }
        ++m.sends;
        switch (refusal_action(reason, m.sends)) {
            case RefusalAction::fail:
                report_failure(m.topic, why);
                return;
            case RefusalAction::drop:
                report_denied(m.topic, why);
                return;
            case RefusalAction::retry:
                break;
        }
        publish_retried_.add();
        const std::string topic = m.topic;
        count_drops(queue_.requeue(std::move(m)));
        const int64_t now = sdk::Timer::now_ns();
        // Refusals of messages sent before the hold began arrive during it: only a refusal after
        // the hold says the pace is still too fast.
        if (now < hold_until_ns_) return;
        pacer_.throttled(now);
        const milliseconds hold = refusal_backoff_.delay(refusal_episodes_++);
        hold_until_ns_ = now + std::chrono::duration_cast<std::chrono::nanoseconds>(hold).count();
        if (last_throttle_log_ns_ == 0 || now - last_throttle_log_ns_ >= kFailureLogIntervalNs) {
            host().warning("the broker refused a publish to '", topic, "' (", why, "): it is queued again; ",
                           "publishing pauses for ", seconds_text(hold), ", then goes on at ",
                           static_cast<int>(pacer_.rate()), " per second (", queue_.size(),
                           " message(s) waiting)");
            last_throttle_log_ns_ = now;
        } else {
            host().debug("publish to '", topic, "' refused again (", why, "); pausing ", seconds_text(hold));
        }
        send_timer_.arm_at(hold_until_ns_);
    }

    // A message refused with 0x87 kMaxNotAuthorizedSends times: a policy that denies it, not a
    // throttle. Dropped and counted; logged with its topic once per interval.
    void report_denied(const std::string& topic, const std::string& why) {
        queue_dropped_.add();
        ++denied_unreported_;
        const int64_t now = sdk::Timer::now_ns();
        if (last_denied_log_ns_ == 0 || now - last_denied_log_ns_ >= kFailureLogIntervalNs) {
            host().warning("dropped a message to '", topic, "': the broker refused it ", kMaxNotAuthorizedSends,
                           " times (", why, "); check that the certificate's policy allows iot:Publish on it",
                           denied_unreported_ > 1
                               ? " (" + std::to_string(denied_unreported_) + " such drops since the last report)"
                               : std::string());
            last_denied_log_ns_ = now;
            denied_unreported_ = 0;
        }
    }

    void report_failure(const std::string& topic, const std::string& why) {
        publish_failed_.add();
        ++failures_unreported_;
        const int64_t now = sdk::Timer::now_ns();
        if (last_failure_log_ns_ == 0 || now - last_failure_log_ns_ >= kFailureLogIntervalNs) {
            host().warning("publish to '", topic, "' failed: ", why,
                           failures_unreported_ > 1 ? " (" + std::to_string(failures_unreported_) +
                                                          " failures since the last report)"
                                                    : std::string());
            last_failure_log_ns_ = now;
            failures_unreported_ = 0;
        }
    }

    // ---- receiving ----

    void on_subscribed(uint64_t index, bool ok, const std::vector<int>& codes, const std::string& why) {
        if (index >= endpoints_.size()) return;
        const std::string& filter = endpoints_[index].address;
        if (!ok) {
            host().error("subscription to '", filter, "' failed: ", why);
            return;
        }
        for (int c : codes)
            if (c >= 0x80) {
                host().error("the broker refused the subscription to '", filter, "': ", paho::describe(0, c),
                             " (check the policy of the certificate)");
                return;
            }
        host().debug("subscribed to '", filter, "'");
    }

    void on_incoming(const std::string& topic, const std::string& payload, int qos, bool retained,
                     std::optional<uint32_t> expiry_s) {
        if (state_ == State::stopped) return;
        received_.add();
        const sdk::Message m{topic, payload, qos, retained, expiry_s};
        for (std::size_t i = 0; i < endpoints_.size(); ++i)
            if (endpoints_[i].direction == sdk::Direction::input &&
                sdk::topic_matches(endpoints_[i].address, topic))
                host().emit(m, static_cast<uint32_t>(i + 1));
    }

    const std::string endpoint_;
    const int port_;
    const std::string alpn_;
    const std::string credentials_;
    const std::string client_id_;
    const bool mqtt5_;
    const int subscribe_qos_;
    const milliseconds takeover_backoff_;
    const bool publish_on_stop_;
    const std::vector<std::string> scope_;
    const paho::ConnectSettings connect_;
    const int max_buffered_;  // paho's own buffer: the offline queue's size and some room
    Backoff backoff_;
    const milliseconds reconnect_spread_;
    OfflineQueue queue_;
    const bool drop_newest_;
    PublishPacer pacer_;
    Backoff refusal_backoff_;
    std::vector<Endpoint> endpoints_;

    sdk::Counter connects_, disconnects_, reconnect_attempts_, published_, publish_failed_, publish_retried_,
        received_, queue_dropped_, takeovers_, expired_;
    sdk::Gauge queue_depth_, connected_gauge_;
    sdk::Timer reconnect_timer_;
    sdk::Timer send_timer_;  // the next token of the pace, or the end of a hold

    State state_ = State::idle;
    uint64_t generation_ = 0;
    uint64_t attempts_ = 0;
    uint64_t successful_connects_ = 0;
    unsigned failures_ = 0;
    unsigned refusals_ = 0;        // of the failed attempts in a row, the last ones that refused the identity
    std::string refused_cert_id_;  // the certificate of the last failed attempt
    unsigned quick_losses_ = 0;
    int64_t connected_at_ns_ = 0;
    std::string last_failure_;
    std::string cert_in_use_;
    std::string cert_id_;  // AWS certificate id of cert_in_use_
    bool switch_requested_ = false;
    sdk::EventSubscription credentials_changed_;
    bool drop_logged_ = false;
    uint64_t drops_unreported_ = 0;
    uint64_t failures_unreported_ = 0;
    int64_t last_failure_log_ns_ = 0;
    int64_t hold_until_ns_ = 0;  // no publish is sent before this (after a refusal)
    unsigned refusal_episodes_ = 0;  // holds in a row without an acknowledgement after them
    int64_t last_throttle_log_ns_ = 0;
    uint64_t denied_unreported_ = 0;
    int64_t last_denied_log_ns_ = 0;
    uint64_t sent_since_connect_ = 0;
    bool backlog_pending_ = false;  // the queue held messages at connect: log when they are sent

    // Declared last so it is destroyed first: paho holds the listeners and the bridge until then.
    std::shared_ptr<PahoBridge> bridge_ = std::make_shared<PahoBridge>(host());
    std::unique_ptr<Listener> connect_listener_, publish_listener_, subscribe_listener_, switch_listener_;
    std::unique_ptr<::mqtt::async_client> client_;
    paho::ClientSettings client_settings_;
    bool replace_client_ = false;  // paho failed in-flight publishes: its own state is not to be resumed
};

}  // namespace
}  // namespace iotgw::plugins::mqtt

IOTGW_DECLARE_PLUGIN(
    iotgw::plugins::mqtt::Mqtt,
    {.abi_major = 1,
     .abi_minor = 0,
     .name = "mqtt",
     .version = "1.3.0",
     .description = "MQTT 3.1.1/5 over mutual TLS to AWS IoT Core or a local broker, with reconnect "
                    "backoff, offline queue and takeover detection.",
     .fields = iotgw::plugins::mqtt::kFields})
