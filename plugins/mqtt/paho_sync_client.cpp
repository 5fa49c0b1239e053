// The `paho-sync` client: paho.mqtt.c's synchronous MQTTClient API (libpaho-mqtt3cs) behind the
// MqttClient seam, built as a module of its own (paho_sync_module.hpp says why).
//
// Why it exists: the asynchronous paho client sleeps 100 ms after every receive poll that timed
// out, so a message that arrives then waits up to 100 ms (docs/scaling.md); the synchronous
// library's receive thread does not, which takes call -> status p99 under the fleet's target.
//
// Threads:
//   - the loop thread calls the MqttClient functions; none of them blocks, except close() at stop;
//   - one worker thread of ours runs every library call (connect, subscribe, publish,
//     disconnect): connect and subscribe block until the broker answers, and a publish may block
//     while the socket's send buffer is full;
//   - paho's own background thread calls the callbacks below, which only copy what they are
//     given and post it to the loop through the gate.
// A new MQTTClient is made for every connect (no persistence), so the library never resends
// anything by itself: what was in flight when a connection went is handed back to the
// connection logic as "lost with the connection", and it sends it again from its queue.
#include "paho_sync_module.hpp"
#include "tcp_nodelay.hpp"

#include <MQTTClient.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace iotgw::plugins::mqtt {
namespace {

using std::chrono::milliseconds;

constexpr int kMaxInFlight = 65535;
// How long subscribe waits for a SUBACK and the stop's publish/disconnect wait.
constexpr unsigned long kCommandTimeoutMs = 10000;
// paho.mqtt.c's words for a failed connect, as the async library writes them: the connection
// logic classifies by them (connect_failure.cpp). The synchronous library returns only a code.
constexpr const char* kConnectFailure = "TCP/TLS connect failure";
constexpr const char* kConnectTimeout = "TCP connect timeout";
constexpr const char* kClosedBeforeConnack = "TCP connect completion failure";

// Whether the connect running on this thread has written its CONNECT packet: the library's
// protocol trace says so ("<socket> <client id> -> CONNECT ..."), on the thread that calls
// MQTTClient_connect. A connection closed after that without a CONNACK is how AWS IoT Core
// refuses an INACTIVE or REVOKED certificate (connect_failure.hpp), which must not be taken for
// an outage. The trace is this module's own: the async library the plugin uses has another.
thread_local bool* tl_connect_written = nullptr;

void on_trace(enum MQTTCLIENT_TRACE_LEVELS, char* message) {
    if (tl_connect_written != nullptr && message != nullptr &&
        std::strstr(message, " -> CONNECT ") != nullptr)
        *tl_connect_written = true;
}

void install_trace_once() {
    static std::once_flag once;
    std::call_once(once, [] {
        MQTTClient_setTraceCallback(&on_trace);
        MQTTClient_setTraceLevel(MQTTCLIENT_TRACE_PROTOCOL);
    });
}

std::string reason_text(int code) {
    const char* name = MQTTReasonCode_toString(static_cast<enum MQTTReasonCodes>(code));
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned>(code));
    return std::string(hex) + " " + (name != nullptr ? name : "unknown");
}

// A response's code. paho.mqtt.c stores its own negative return codes (-1 failure, -3
// disconnected, ...) in the `enum MQTTReasonCodes` field, which has no such enumerators: loading
// it as the enum is undefined behaviour (UBSan: "not a valid value for type"), so its bytes are
// read as the int they are.
int response_code(const MQTTResponse& resp) {
    static_assert(sizeof(resp.reasonCode) == sizeof(int));
    int code = 0;
    std::memcpy(&code, &resp.reasonCode, sizeof code);
    return code;
}

std::string rc_text(int rc) {
    const char* s = MQTTClient_strerror(rc);
    return std::string(s != nullptr ? s : "error") + " (rc " + std::to_string(rc) + ")";
}

// Runs posted functions one after another on a thread of its own.
class Worker {
public:
    Worker() : thread_([this] { run(); }) {}
    ~Worker() { stop(); }

    void post(std::function<void()> job) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (stopping_) return;
            jobs_.push_back(std::move(job));
        }
        cv_.notify_one();
    }

    // Drops what has not started, waits for what has.
    void stop() noexcept {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
            jobs_.clear();
        }
        cv_.notify_one();
        if (thread_.joinable()) thread_.join();
    }

private:
    void run() {
        for (;;) {
            std::function<void()> job;
            {
                std::unique_lock<std::mutex> lock(mutex_);
                cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
                if (stopping_) return;
                job = std::move(jobs_.front());
                jobs_.pop_front();
            }
            job();
        }
    }

    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> jobs_;
    bool stopping_ = false;
    std::thread thread_;  // last: started once the rest exists
};

// What paho's thread reaches through the callback context. It outlives the client object
// (graveyard below): paho may be inside a callback while the client is destroyed.
struct Shared {
    explicit Shared(sdk::Host h, ClientEvents& e) : host(h), events(&e) {}

    // From any thread: run `fn` on the loop, unless the gate is closed.
    void post(std::function<void()> fn) noexcept {
        std::lock_guard<std::mutex> lock(gate_mutex);
        if (!open) return;
        try {
            host.post(std::move(fn));
        } catch (...) {
            // The gateway is stopping: the work is not needed any more.
        }
    }
    void close() noexcept {
        std::lock_guard<std::mutex> lock(gate_mutex);
        open = false;
    }

    // QoS 1 publishes sent and not yet acknowledged, by delivery token; and acknowledgements
    // that came before the worker could record their publish (token -> reason code).
    void sent(int token, OutMessage m) {
        std::unique_lock<std::mutex> lock(flight_mutex);
        if (auto it = early_acks.find(token); it != early_acks.end()) {
            const int reason = it->second;
            early_acks.erase(it);
            lock.unlock();
            acknowledged(std::move(m), reason);
            return;
        }
        in_flight[token] = std::move(m);
    }
    void ack(int token, int reason) {
        std::unique_lock<std::mutex> lock(flight_mutex);
        auto it = in_flight.find(token);
        if (it == in_flight.end()) {
            early_acks[token] = reason;
            return;
        }
        OutMessage m = std::move(it->second);
        in_flight.erase(it);
        lock.unlock();
        acknowledged(std::move(m), reason);
    }
    void acknowledged(OutMessage m, int reason) {
        if (reason < 0x80) {
            post([ev = events] { ev->on_published(); });
            return;
        }
        std::string why = "the broker refused the publish: PUBACK " + reason_text(reason);
        post([ev = events, m = std::move(m), reason, why]() mutable {
            ev->on_publish_failed(std::move(m), reason, false, why);
        });
    }
    // The connection went: every publish in flight goes back to the connection logic.
    void return_in_flight(const std::string& why) {
        std::map<int, OutMessage> lost;
        {
            std::lock_guard<std::mutex> lock(flight_mutex);
            lost.swap(in_flight);
            early_acks.clear();
        }
        for (auto& [token, m] : lost)
            post([ev = events, m = std::move(m), why]() mutable {
                ev->on_publish_failed(std::move(m), 0, true, why);
            });
    }

    // The current connection's loss, reported once: paho may report a broker's DISCONNECT both
    // as "disconnected" and as "connection lost".
    void lost(const std::string& why, int reason) {
        if (connected.exchange(false)) {
            return_in_flight(why);
            post([ev = events, why, reason] { ev->on_lost(why, reason); });
        }
    }

    sdk::Host host;
    ClientEvents* events;
    std::mutex gate_mutex;
    bool open = true;
    std::mutex flight_mutex;
    std::map<int, OutMessage> in_flight;
    std::map<int, int> early_acks;
    std::atomic<bool> connected{false};
};

// Shared objects of destroyed clients: paho's thread may still hold their address (one small
// object per client made, for the life of the process).
void bury(std::shared_ptr<Shared> s) {
    static std::mutex mutex;
    static std::vector<std::shared_ptr<Shared>> graveyard;
    std::lock_guard<std::mutex> lock(mutex);
    graveyard.push_back(std::move(s));
}

// ---- paho's callbacks (its background thread): copy, post, return ----

int on_message(void* context, char* topic_name, int topic_len, MQTTClient_message* msg) {
    auto* s = static_cast<Shared*>(context);
    std::string topic = topic_len > 0 ? std::string(topic_name, static_cast<std::size_t>(topic_len))
                                      : std::string(topic_name);
    std::string payload(static_cast<const char*>(msg->payload), static_cast<std::size_t>(msg->payloadlen));
    std::optional<uint32_t> expiry;
    if (MQTTProperties_hasProperty(&msg->properties, MQTTPROPERTY_CODE_MESSAGE_EXPIRY_INTERVAL) != 0)
        expiry = static_cast<uint32_t>(
            MQTTProperties_getNumericValue(&msg->properties, MQTTPROPERTY_CODE_MESSAGE_EXPIRY_INTERVAL));
    const int qos = msg->qos;
    const bool retained = msg->retained != 0;
    MQTTClient_freeMessage(&msg);
    MQTTClient_free(topic_name);
    s->post([ev = s->events, topic = std::move(topic), payload = std::move(payload), qos, retained, expiry] {
        ev->on_incoming(topic, payload, qos, retained, expiry);
    });
    return 1;  // taken: paho must not deliver it again
}

void on_connection_lost(void* context, char* cause) {
    auto* s = static_cast<Shared*>(context);
    s->lost(cause != nullptr && *cause != '\0' ? cause : "connection lost", 0);
}

void on_disconnected(void* context, MQTTProperties*, enum MQTTReasonCodes reason) {
    auto* s = static_cast<Shared*>(context);
    const int code = static_cast<int>(reason);
    s->lost("the broker sent DISCONNECT: " + reason_text(code), code);
}

void on_published_v5(void* context, int token, int, MQTTProperties*, enum MQTTReasonCodes reason) {
    static_cast<Shared*>(context)->ack(token, static_cast<int>(reason));
}

void on_delivered_v311(void* context, MQTTClient_deliveryToken token) {
    static_cast<Shared*>(context)->ack(token, 0);
}

class PahoSyncClient final : public MqttClient {
public:
    PahoSyncClient(sdk::Host host, const MqttSettings& s, ClientEvents& events)
        : shared_((install_trace_once(), std::make_shared<Shared>(host, events))),
          uri_("ssl://" + s.endpoint + ":" + std::to_string(s.port)),
          settings_(s) {
        if (!s.alpn.empty()) {
            alpn_wire_.push_back(static_cast<unsigned char>(s.alpn.size()));
            alpn_wire_.insert(alpn_wire_.end(), s.alpn.begin(), s.alpn.end());
        }
    }

    ~PahoSyncClient() override {
        shared_->close();
        worker_.stop();
        drop_handle();
        bury(std::move(shared_));
    }

    void connect(uint64_t generation, const TlsFiles& tls) override {
        worker_.post([this, generation, tls] { do_connect(generation, tls); });
    }

    void after_connect() override {
        // The library never sets TCP_NODELAY (tcp_nodelay.hpp says why it matters).
        if (set_nodelay_on_sockets_to(static_cast<uint16_t>(settings_.port)) == 0)
            shared_->host.debug(
                "could not set TCP_NODELAY on the connection (replies may wait ~40 ms on Nagle)");
    }

    void subscribe(const std::string& filter, int qos, uint64_t index) override {
        worker_.post([this, filter, qos, index] { do_subscribe(filter, qos, index); });
    }

    SendResult publish(const OutMessage& m, std::optional<uint32_t> expiry_s, std::string&) override {
        if (!shared_->connected.load()) return SendResult::disconnected;
        worker_.post([this, m, expiry_s] { do_publish(m, expiry_s); });
        return SendResult::sent;
    }

    void disconnect_for_switch(uint64_t generation) override {
        worker_.post([this, generation] {
            if (handle_ != nullptr && shared_->connected.exchange(false)) {
                // Reason 0 ("normal disconnection"): the broker drops the Will. No grace period.
                const int rc = send_disconnect(0);
                if (rc != MQTTCLIENT_SUCCESS)
                    shared_->post([h = shared_->host, rc] {
                        h.debug("disconnect before the credentials switch: ", rc_text(rc));
                    });
                shared_->return_in_flight("the connection was closed for the credentials switch");
            }
            shared_->post([ev = shared_->events, generation] { ev->on_switch_disconnected(generation); });
        });
    }

    std::string close(const std::optional<Farewell>& status) override {
        auto done = std::make_shared<std::promise<std::string>>();
        std::future<std::string> result = done->get_future();
        worker_.post([this, status, done] { done->set_value(do_close(status)); });
        // The worker may first finish a call in progress (a subscribe waits up to 10 s).
        if (result.wait_for(milliseconds(kCommandTimeoutMs + 4000)) != std::future_status::ready)
            return "the MQTT client did not close within " + std::to_string(kCommandTimeoutMs / 1000 + 4) +
                   " s";
        return result.get();
    }

    void forget_in_flight() override {
        // Nothing to do: every connect makes a new MQTTClient, which knows nothing of the old one's.
    }

    void detach() noexcept override { shared_->close(); }

private:
    // ---- on the worker thread ----

    // A clean DISCONNECT (MQTT 5 reason 0: the broker drops the Will), waiting up to `timeout_ms`.
    int send_disconnect(int timeout_ms) {
        return settings_.mqtt5
                   ? MQTTClient_disconnect5(handle_, timeout_ms, MQTTREASONCODE_NORMAL_DISCONNECTION, nullptr)
                   : MQTTClient_disconnect(handle_, timeout_ms);
    }

    void drop_handle() noexcept {
        if (handle_ == nullptr) return;
        if (shared_->connected.exchange(false)) {
            (void)send_disconnect(0);
        }
        MQTTClient_destroy(&handle_);
        handle_ = nullptr;
    }

    void do_connect(uint64_t generation, const TlsFiles& tls) {
        drop_handle();
        shared_->return_in_flight("the connection was replaced");
        ConnectReport report;
        std::optional<bool> session_present;
        if (!open_connection(tls, report, session_present)) {
            drop_handle();
            shared_->post(
                [ev = shared_->events, generation, report] { ev->on_connect_failed(generation, report); });
            return;
        }
        shared_->connected.store(true);
        shared_->post([ev = shared_->events, generation, session_present] {
            ev->on_connected(generation, session_present);
        });
    }

    bool open_connection(const TlsFiles& tls, ConnectReport& report, std::optional<bool>& session_present) {
        MQTTClient_createOptions create = MQTTClient_createOptions_initializer;
        create.MQTTVersion = settings_.mqtt5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1;
        int rc = MQTTClient_createWithOptions(&handle_, uri_.c_str(), settings_.client_id.c_str(),
                                              MQTTCLIENT_PERSISTENCE_NONE, nullptr, &create);
        if (rc == MQTTCLIENT_SUCCESS)
            rc = MQTTClient_setCallbacks(handle_, shared_.get(), &on_connection_lost, &on_message,
                                         settings_.mqtt5 ? nullptr : &on_delivered_v311);
        if (rc == MQTTCLIENT_SUCCESS && settings_.mqtt5) {
            rc = MQTTClient_setPublished(handle_, shared_.get(), &on_published_v5);
            if (rc == MQTTCLIENT_SUCCESS)
                rc = MQTTClient_setDisconnected(handle_, shared_.get(), &on_disconnected);
        }
        if (rc == MQTTCLIENT_SUCCESS) rc = MQTTClient_setCommandTimeout(handle_, kCommandTimeoutMs);
        if (rc != MQTTCLIENT_SUCCESS) {
            report = ConnectReport{rc, 0, "cannot create the MQTT client: " + rc_text(rc)};
            return false;
        }

        MQTTClient_SSLOptions ssl = MQTTClient_SSLOptions_initializer;
        ssl.trustStore = tls.trust_store.c_str();
        ssl.keyStore = tls.cert_chain.c_str();
        ssl.privateKey = tls.private_key.c_str();
        ssl.enableServerCertAuth = 1;
        ssl.verify = 1;  // host name check; paho's default is off
        ssl.sslVersion = MQTT_SSL_VERSION_TLS_1_2;
        if (!alpn_wire_.empty()) {
            ssl.protos = alpn_wire_.data();
            ssl.protos_len = static_cast<unsigned>(alpn_wire_.size());
        }
        MQTTClient_willOptions will = MQTTClient_willOptions_initializer;
        const WillSettings& w = settings_.will;
        if (w.enabled) {
            will.topicName = w.topic.c_str();
            will.message = nullptr;
            will.payload.data = w.payload.data();
            will.payload.len = static_cast<int>(w.payload.size());
            will.qos = w.qos;
            will.retained = w.retain ? 1 : 0;
        }
        MQTTClient_connectOptions opts = MQTTClient_connectOptions_initializer;
        if (settings_.mqtt5) {
            MQTTClient_connectOptions v5 = MQTTClient_connectOptions_initializer5;
            opts = v5;
            opts.cleanstart = settings_.clean_start ? 1 : 0;
        } else {
            opts.cleansession = settings_.clean_start ? 1 : 0;
            opts.MQTTVersion = MQTTVERSION_3_1_1;
        }
        opts.keepAliveInterval =
            static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(settings_.keepalive).count());
        opts.connectTimeout = static_cast<int>(
            std::max<int64_t>(1, std::chrono::ceil<std::chrono::seconds>(settings_.connect_timeout).count()));
        opts.maxInflightMessages = kMaxInFlight;
        opts.ssl = &ssl;
        if (w.enabled) opts.will = &will;

        const auto started = std::chrono::steady_clock::now();
        bool connect_written = false;
        tl_connect_written = &connect_written;
        int reason = 0;
        if (settings_.mqtt5) {
            MQTTProperties props = MQTTProperties_initializer;
            MQTTProperty expiry{};
            expiry.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
            expiry.value.integer4 = static_cast<unsigned>(
                std::chrono::duration_cast<std::chrono::seconds>(settings_.session_expiry).count());
            MQTTProperties_add(&props, &expiry);
            MQTTResponse resp = MQTTClient_connect5(handle_, &opts, &props, nullptr);
            MQTTProperties_free(&props);
            rc = response_code(resp);
            MQTTResponse_free(resp);
            if (rc >= 0x80) reason = rc;
        } else {
            rc = MQTTClient_connect(handle_, &opts);
        }
        tl_connect_written = nullptr;
        if (rc == MQTTCLIENT_SUCCESS) {
            // paho.mqtt.c 1.3 fills in the CONNACK's session-present flag for MQTT 3.1.1 only.
            if (!settings_.mqtt5) session_present = opts.returned.sessionPresent != 0;
            return true;
        }
        if (rc > 0) {  // the broker's CONNACK refused it: 3.1.1 return code or MQTT 5 reason code
            report = ConnectReport{rc, reason, "CONNACK return code"};
            return false;
        }
        // The library says only "failure": the time taken and whether CONNECT went out tell a
        // timeout, a close before CONNACK and a TCP/TLS failure apart, as the async library's
        // words do.
        const bool timed_out = std::chrono::steady_clock::now() - started >= settings_.connect_timeout;
        report = ConnectReport{rc, 0,
                               timed_out         ? kConnectTimeout
                               : connect_written ? kClosedBeforeConnack
                                                 : kConnectFailure};
        return false;
    }

    void do_subscribe(const std::string& filter, int qos, uint64_t index) {
        std::vector<int> codes;
        bool ok = false;
        std::string why;
        if (handle_ == nullptr || !shared_->connected.load()) {
            why = "not connected";
        } else if (settings_.mqtt5) {
            MQTTResponse resp = MQTTClient_subscribe5(handle_, filter.c_str(), qos, nullptr, nullptr);
            const int code = response_code(resp);
            MQTTResponse_free(resp);
            if (code >= 0) codes.push_back(code);
            ok = code >= 0 && code < 0x80;
            if (!ok) why = code < 0 ? rc_text(code) : "SUBACK " + reason_text(code);
        } else {
            char* topics[] = {const_cast<char*>(filter.c_str())};
            int granted[] = {qos};
            const int rc = MQTTClient_subscribeMany(handle_, 1, topics, granted);
            if (rc == MQTTCLIENT_SUCCESS) codes.push_back(granted[0]);
            ok = rc == MQTTCLIENT_SUCCESS && granted[0] < 0x80;
            if (!ok) why = rc != MQTTCLIENT_SUCCESS ? rc_text(rc) : "SUBACK return code 0x80";
        }
        // Moved, not copied, into the closure: g++ 14 -O2 reports a bogus -Warray-bounds for the
        // copy of a one-element vector here.
        shared_->post([ev = shared_->events, index, ok, codes = std::move(codes), why = std::move(why)] {
            ev->on_subscribed(index, ok, codes, why);
        });
    }

    // Sends one message; the result comes back on the loop as on_published / on_publish_failed.
    void do_publish(const OutMessage& m, std::optional<uint32_t> expiry_s) {
        if (handle_ == nullptr || !shared_->connected.load()) {
            shared_->post([ev = shared_->events, m]() mutable {
                ev->on_publish_failed(std::move(m), 0, true, "not connected when its turn came");
            });
            return;
        }
        MQTTClient_message msg = MQTTClient_message_initializer;
        msg.payload = const_cast<char*>(m.payload.data());
        msg.payloadlen = static_cast<int>(m.payload.size());
        msg.qos = m.qos;
        msg.retained = m.retain ? 1 : 0;
        MQTTClient_deliveryToken token = 0;
        int rc = 0;
        if (settings_.mqtt5) {
            MQTTProperty expiry{};
            if (expiry_s) {
                expiry.identifier = MQTTPROPERTY_CODE_MESSAGE_EXPIRY_INTERVAL;
                expiry.value.integer4 = *expiry_s;
                MQTTProperties_add(&msg.properties, &expiry);
            }
            MQTTResponse resp = MQTTClient_publishMessage5(handle_, m.topic.c_str(), &msg, &token);
            rc = response_code(resp);
            MQTTResponse_free(resp);
            MQTTProperties_free(&msg.properties);
        } else {
            rc = MQTTClient_publishMessage(handle_, m.topic.c_str(), &msg, &token);
        }
        if (rc == MQTTCLIENT_SUCCESS) {
            if (m.qos == 0)
                shared_->post([ev = shared_->events] { ev->on_published(); });
            else
                shared_->sent(token, m);
            return;
        }
        // Not sent. A lost connection hands it back to be sent again; anything else is final.
        const bool lost = rc == MQTTCLIENT_DISCONNECTED || !shared_->connected.load();
        std::string why = rc_text(rc);
        shared_->post([ev = shared_->events, m, lost, why]() mutable {
            ev->on_publish_failed(std::move(m), 0, lost, why);
        });
    }

    std::string do_close(const std::optional<Farewell>& status) {
        std::string problems;
        if (handle_ != nullptr && shared_->connected.load() && status) {
            MQTTClient_message msg = MQTTClient_message_initializer;
            msg.payload = const_cast<char*>(status->payload.data());
            msg.payloadlen = static_cast<int>(status->payload.size());
            msg.qos = status->qos;
            msg.retained = status->retain ? 1 : 0;
            MQTTClient_deliveryToken token = 0;
            int rc = 0;
            if (settings_.mqtt5) {
                MQTTResponse resp = MQTTClient_publishMessage5(handle_, status->topic.c_str(), &msg, &token);
                rc = response_code(resp);
                MQTTResponse_free(resp);
            } else {
                rc = MQTTClient_publishMessage(handle_, status->topic.c_str(), &msg, &token);
            }
            if (rc != MQTTCLIENT_SUCCESS)
                problems = "cannot publish the offline status on " + status->topic + ": " + rc_text(rc);
            else if (status->qos > 0 &&
                     MQTTClient_waitForCompletion(handle_, token, 1000) != MQTTCLIENT_SUCCESS)
                problems = "the offline status on " + status->topic +
                           " was not acknowledged within 1 s before disconnecting";
        }
        if (handle_ != nullptr && shared_->connected.exchange(false)) {
            (void)send_disconnect(1000);
        }
        return problems;
    }

    std::shared_ptr<Shared> shared_;
    const std::string uri_;
    const MqttSettings settings_;
    std::vector<unsigned char> alpn_wire_;  // ALPN protocol list in wire format
    MQTTClient handle_ = nullptr;           // worker thread only (and the destructor, after it)
    Worker worker_;                         // last: its thread starts once the rest exists
};

}  // namespace
}  // namespace iotgw::plugins::mqtt

extern "C" __attribute__((visibility("default"))) iotgw::plugins::mqtt::MqttClient*
iotgw_mqtt_make_paho_sync_client(const iotgw_host_api* api, iotgw::sdk::Host host,
                                 const iotgw::plugins::mqtt::MqttSettings& settings,
                                 iotgw::plugins::mqtt::ClientEvents& events, std::string& error) {
    try {
        iotgw::sdk::detail::host_api_slot() = api;
        return new iotgw::plugins::mqtt::PahoSyncClient(host, settings, events);
    } catch (const std::exception& e) {
        error = e.what();
        return nullptr;
    }
}
