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
// The MQTT client library sits behind the MqttClient seam (mqtt_client.hpp; paho.mqtt.cpp in
// paho_client.cpp), which reports to this class on the loop thread only. All state below is
// touched on the loop thread only.
#include "connect_failure.hpp"
#include "link_event.hpp"
#include "mqtt_client.hpp"
#include "mqtt_settings.hpp"
#include "offline_queue.hpp"
#include "paho_client.hpp"
#include "paho_sync_module.hpp"
#include "publish_pacer.hpp"
#include "publish_refusal.hpp"
#include "reconnect_backoff.hpp"
#include "schema.hpp"
#include "topic_rules.hpp"

#include <iotgw/plugins/common/backoff.hpp>
#include <iotgw/plugins/common/certificate_info.hpp>
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
using common::read_certificate_info;
using common::seconds_text;
using std::chrono::milliseconds;
// Only for the names of MQTT reason codes in log lines.
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

struct Endpoint {
    sdk::Direction direction;
    std::string address;  // topic (output) or filter (input)
};

class Mqtt final : public sdk::Connection, private ClientEvents {
public:
    Mqtt(sdk::Host host, const sdk::Config& cfg) : Mqtt(host, parse_settings(cfg)) {}

    ~Mqtt() override {
        // stop() may not have run (a refused start): make sure the client can no longer reach us.
        if (client_) client_->detach();
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
        client_ = settings_.sync_client ? make_paho_sync_client(host(), settings_, *this)
                                        : make_paho_client(host(), settings_, *this);
        // Which library answers, in the log: the two differ in latency and in what they report
        // (the plugin's README, "Two client libraries").
        host().info("MQTT client library: ", settings_.sync_client
                                                 ? "paho-sync (libpaho-mqtt3cs)"
                                                 : "paho-async (paho.mqtt.cpp, libpaho-mqtt3as)");
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
            std::optional<MqttClient::Farewell> status;
            if (const WillSettings& will = settings_.will; publish_on_stop_ && will.enabled)
                status = MqttClient::Farewell{will.topic, will.payload, will.qos, will.retain};
            if (const std::string problem = client_->close(status); !problem.empty()) host().warning(problem);
            disconnects_.add();
        }
        if (client_) client_->detach();
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
          settings_(s),
          endpoint_(s.endpoint),
          port_(s.port),
          credentials_(s.credentials),
          client_id_(s.client_id),
          mqtt5_(s.mqtt5),
          subscribe_qos_(s.subscribe_qos),
          takeover_backoff_(s.takeover_backoff),
          publish_on_stop_(s.publish_on_stop),
          scope_(s.topic_scope),
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
        TlsFiles tls;
        tls.trust_store = common::trust_store_or_system(creds.ca_path);
        tls.cert_chain = creds.cert_chain_path;
        tls.private_key = creds.private_key_path;
        cert_in_use_ = creds.cert_chain_path;
        const auto info = read_certificate_info(creds.cert_chain_path);
        cert_id_ = info ? info->id : std::string();
        if (forget_in_flight_) {
            // Publishes in flight went with the connection and are queued again: the client
            // must not resend them by itself (see on_publish_failed).
            forget_in_flight_ = false;
            client_->forget_in_flight();
            host().info(
                "publishes in flight went with the connection and are queued again; connecting with a "
                "new MQTT client so that they are sent once, from the queue");
        }
        try {
            client_->connect(gen, tls);
        } catch (const std::exception& e) {
            fail_attempt(e.what(), ConnectFailureKind::client_error);
        }
    }

    void on_connected(uint64_t gen, std::optional<bool> session_present) override {
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
        client_->after_connect();
        host().notice("connected to ", endpoint_, ":", port_, " as '", client_id_, "' (MQTT ",
                      mqtt5_ ? "5" : "3.1.1", ", session ",
                      !session_present   ? "state not reported by the client library"
                      : *session_present ? "resumed"
                                         : "new",
                      ")");
        for (std::size_t i = 0; i < endpoints_.size(); ++i) {
            if (endpoints_[i].direction != sdk::Direction::input) continue;
            try {
                client_->subscribe(endpoints_[i].address, subscribe_qos_, i);
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

    void on_connect_failed(uint64_t gen, const ConnectReport& report) override {
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

    void on_lost(const std::string& why, int reason) override {
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
        client_->disconnect_for_switch(++generation_);
    }

    void on_switch_disconnected(uint64_t gen) override {
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

    // False if the client says the connection is gone: the caller keeps the message.
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
        std::string why;
        switch (client_->publish(m, expiry_s, why)) {
            case SendResult::sent:
                return true;
            case SendResult::disconnected:
                return false;
            case SendResult::failed:
                report_failure(m.topic, why);
                return true;
        }
        return true;
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

    void on_published() override {
        published_.add();
        // An acknowledgement after the hold: the broker takes the current pace.
        if (sdk::Timer::now_ns() >= hold_until_ns_) refusal_episodes_ = 0;
    }

    // A QoS 1 publish the broker refused in its PUBACK (or the client gave up on).
    void on_publish_failed(OutMessage m, int reason, bool lost_with_the_connection,
                           const std::string& why) override {
        if (state_ == State::stopped) return;
        if (m.topic.empty()) {  // the client did not say which message: nothing to send again
            report_failure(m.topic, why);
            return;
        }
        if (lost_with_the_connection) {
            // Sent but not acknowledged when the connection went. paho says it failed, yet keeps
            // it for the resumed session and sends it again after the reconnect, from memory it
            // has freed: seen in the soak as a PUBLISH whose topic was garbage, which the broker
            // refused as malformed at every reconnect from then on (the gateway never stayed
            // connected again). The message goes back into our queue, in order, and the next
            // connect uses a new client, so paho has nothing of its own to resend.
            host().debug("publish to '", m.topic, "' went with the connection (", why, "): queued again");
            publish_retried_.add();
            count_drops(queue_.requeue(std::move(m)));
            forget_in_flight_ = true;
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

    void on_subscribed(uint64_t index, bool ok, const std::vector<int>& codes,
                       const std::string& why) override {
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
                     std::optional<uint32_t> expiry_s) override {
        if (state_ == State::stopped) return;
        received_.add();
        const sdk::Message m{topic, payload, qos, retained, expiry_s};
        for (std::size_t i = 0; i < endpoints_.size(); ++i)
            if (endpoints_[i].direction == sdk::Direction::input &&
                sdk::topic_matches(endpoints_[i].address, topic))
                host().emit(m, static_cast<uint32_t>(i + 1));
    }

    const MqttSettings settings_;
    const std::string endpoint_;
    const int port_;
    const std::string credentials_;
    const std::string client_id_;
    const bool mqtt5_;
    const int subscribe_qos_;
    const milliseconds takeover_backoff_;
    const bool publish_on_stop_;
    const std::vector<std::string> scope_;
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

    std::unique_ptr<MqttClient> client_;  // made at start
    bool forget_in_flight_ = false;  // publishes in flight were queued again: the client must not resend them
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
