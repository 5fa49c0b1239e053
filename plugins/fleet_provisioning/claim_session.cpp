#include "claim_session.hpp"

#include <utility>

namespace iotgw::plugins::fleet_provisioning {

using common::from_context;
using common::Listener;
using common::to_context;

ClaimSession::ClaimSession(sdk::Host host, ClaimSettings settings)
    : host_(host),
      settings_(std::move(settings)),
      deadline_(host.timer([this] {
          if (fail_)
              finish_error("no answer within " + std::to_string(settings_.timeout.count() / 1000) + " s");
      })),
      bridge_(std::make_shared<common::PahoBridge>(host)) {
    paho::ClientSettings cs;
    cs.server_uri = settings_.server_uri;
    cs.client_id = settings_.client_id;
    cs.mqtt5 = true;
    cs.max_buffered = 100;
    client_ = paho::make_client(cs);
    auto bridge = bridge_;
    ClaimSession* self = this;
    client_->set_message_callback([bridge, self](::mqtt::const_message_ptr m) {
        if (!m) return;
        bridge->post(
            [self, topic = m->get_topic(), payload = m->to_string()] { self->on_message(topic, payload); });
    });
    client_->set_connection_lost_handler([bridge, self](const std::string& cause) {
        bridge->post([self, cause] { self->on_lost(cause.empty() ? "connection lost" : cause); });
    });
    client_->set_disconnected_handler([bridge, self](const ::mqtt::properties&, ::mqtt::ReasonCode rc) {
        const int code = static_cast<int>(rc);
        bridge->post(
            [self, code] { self->on_lost("the broker sent DISCONNECT: " + paho::describe(0, code)); });
    });
    connect_listener_ = std::make_unique<Listener>([bridge, self](const ::mqtt::token& tok, bool ok) {
        const uint64_t gen = from_context(tok.get_user_context());
        std::string why = ok ? std::string() : paho::describe(tok.get_return_code(), paho::reason_code(tok));
        bridge->post([self, gen, ok, why] { self->on_connect_result(gen, ok, why); });
    });
    subscribe_listener_ = std::make_unique<Listener>([bridge, self](const ::mqtt::token& tok, bool ok) {
        const uint64_t gen = from_context(tok.get_user_context());
        std::vector<int> codes = paho::subscribe_codes(tok);
        std::string why = ok ? std::string() : paho::describe(tok.get_return_code(), paho::reason_code(tok));
        bridge->post([self, gen, ok, codes, why] { self->on_subscribed(gen, ok, codes, why); });
    });
    publish_listener_ = std::make_unique<Listener>([bridge, self](const ::mqtt::token& tok, bool ok) {
        const uint64_t gen = from_context(tok.get_user_context());
        std::string why = ok ? std::string() : paho::describe(tok.get_return_code(), paho::reason_code(tok));
        bridge->post([self, gen, ok, why] { self->on_published(gen, ok, why); });
    });
}

ClaimSession::~ClaimSession() { close(); }

void ClaimSession::begin(std::function<void(const std::string&)> fail) {
    ++generation_;
    fail_ = std::move(fail);
    deadline_.arm_in(settings_.timeout);
}

void ClaimSession::finish_error(const std::string& error) {
    deadline_.cancel();
    ++generation_;  // whatever paho still reports for this operation is stale now
    auto fail = std::exchange(fail_, nullptr);
    if (fail) fail(error);
}

void ClaimSession::connect(Done done) {
    step_done_ = std::move(done);
    begin([this](const std::string& e) { std::exchange(step_done_, nullptr)(e); });
    const auto& tls = settings_.tls;
    paho::ConnectSettings c;
    c.mqtt5 = true;
    c.clean_start = true;
    c.session_expiry = std::chrono::seconds(0);
    c.keepalive = std::chrono::seconds(30);
    c.connect_timeout = settings_.timeout;
    c.will = false;
    try {
        paho::connect(*client_, c, paho::make_ssl(tls), to_context(generation_), *connect_listener_);
    } catch (const ::mqtt::exception& e) {
        finish_error(paho::describe(e.get_return_code(), e.get_reason_code()));
    } catch (const std::exception& e) {
        finish_error(e.what());
    }
}

void ClaimSession::on_connect_result(uint64_t gen, bool ok, const std::string& why) {
    if (gen != generation_ || !fail_) return;
    if (!ok) {
        finish_error(why);
        return;
    }
    connected_ = true;
    deadline_.cancel();
    fail_ = nullptr;
    std::exchange(step_done_, nullptr)("");
}

void ClaimSession::subscribe(std::vector<std::string> filters, Done done) {
    step_done_ = std::move(done);
    filters_ = std::move(filters);
    next_filter_ = 0;
    begin([this](const std::string& e) { std::exchange(step_done_, nullptr)(e); });
    subscribe_next();
}

void ClaimSession::subscribe_next() {
    if (next_filter_ >= filters_.size()) {
        deadline_.cancel();
        fail_ = nullptr;
        std::exchange(step_done_, nullptr)("");
        return;
    }
    try {
        client_->subscribe(filters_[next_filter_], 1, to_context(generation_), *subscribe_listener_);
    } catch (const std::exception& e) {
        finish_error("cannot subscribe to " + filters_[next_filter_] + ": " + e.what());
    }
}

void ClaimSession::on_subscribed(uint64_t gen, bool ok, const std::vector<int>& codes,
                                 const std::string& why) {
    if (gen != generation_ || !fail_) return;
    const std::string& filter = filters_[next_filter_];
    if (!ok) {
        finish_error("subscription to " + filter + " failed: " + why);
        return;
    }
    for (int c : codes)
        if (c >= 0x80) {
            finish_error("the broker refused the subscription to " + filter + ": " + paho::describe(0, c) +
                         " (check the claim certificate's policy)");
            return;
        }
    ++next_filter_;
    subscribe_next();
}

void ClaimSession::request(const std::string& topic, const std::string& payload, ReplyDone done) {
    reply_done_ = std::move(done);
    request_topic_ = topic;
    begin([this](const std::string& e) { std::exchange(reply_done_, nullptr)(e, Reply{}); });
    try {
        client_->publish(paho::make_message(topic, payload, 1, false), to_context(generation_),
                         *publish_listener_);
    } catch (const ::mqtt::exception& e) {
        finish_error("cannot publish to " + topic + ": " +
                     paho::describe(e.get_return_code(), e.get_reason_code()));
    }
}

void ClaimSession::on_published(uint64_t gen, bool ok, const std::string& why) {
    if (gen != generation_ || !fail_ || ok) return;
    finish_error("the request on " + request_topic_ + " was not acknowledged: " + why);
}

void ClaimSession::on_message(const std::string& topic, const std::string& payload) {
    if (!fail_ || !reply_done_) return;
    Reply r;
    if (topic == request_topic_ + "/accepted")
        r.accepted = true;
    else if (topic != request_topic_ + "/rejected")
        return;
    r.payload = payload;
    deadline_.cancel();
    fail_ = nullptr;
    ++generation_;
    std::exchange(reply_done_, nullptr)("", r);
}

void ClaimSession::on_lost(const std::string& why) {
    connected_ = false;
    if (fail_) finish_error(why);
}

void ClaimSession::close() noexcept {
    deadline_.cancel();
    fail_ = nullptr;
    step_done_ = nullptr;
    reply_done_ = nullptr;
    ++generation_;
    bridge_->close();
    if (client_ && connected_) {
        try {
            // Not waited for: paho confirms a disconnect only on its next ~1 s cycle, and the loop
            // must not stall. The client lives on until this session is destroyed.
            client_->disconnect(0);
        } catch (const std::exception&) {}
    }
    connected_ = false;
}

}  // namespace iotgw::plugins::fleet_provisioning
