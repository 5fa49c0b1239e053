// C++ face of the host API for one plugin instance: logging, emitting, posting work onto the
// event loop, timers, metrics and credentials.
#pragma once

#include <iotgw/plugin_abi.h>
#include <iotgw/sdk/errors.hpp>
#include <iotgw/sdk/fd_watch.hpp>
#include <iotgw/sdk/guarded_call.hpp>
#include <iotgw/sdk/host_api.hpp>
#include <iotgw/sdk/message.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// Not "namespace iotgw::sdk": GCC rejects attributes on a nested namespace definition.
namespace iotgw {
namespace [[gnu::visibility("hidden")]] sdk {
struct Credentials {
    std::string cert_chain_path;
    std::string private_key_path;
    std::string ca_path;       // empty: the system trust store
    int64_t not_after_unix = 0;  // 0: unknown
};

// On-device renewal of credentials (ABI 1.1): see iotgw_renewal_op in plugin_abi.h.
enum class RenewalOp : uint32_t {
    create_key = IOTGW_RENEWAL_CREATE_KEY,  // input: CSR subject CN; output: CSR PEM
    store_cert = IOTGW_RENEWAL_STORE_CERT,  // input: certificate chain PEM for the pending key
    promote = IOTGW_RENEWAL_PROMOTE,        // pending -> current, current -> backup
    discard = IOTGW_RENEWAL_DISCARD,        // drop the pending key and certificate
    rollback = IOTGW_RENEWAL_ROLLBACK,      // backup -> current
};

inline const char* renewal_op_name(RenewalOp op) noexcept {
    switch (op) {
    case RenewalOp::create_key: return "create key";
    case RenewalOp::store_cert: return "store certificate";
    case RenewalOp::promote: return "promote";
    case RenewalOp::discard: return "discard";
    case RenewalOp::rollback: return "roll back";
    }
    return "unknown operation";
}

// How a renewal operation ended: ok, or status and error; output is the CSR of create_key.
struct RenewalResult {
    int status = IOTGW_OK;
    std::string output;
    std::string error;
    bool ok() const noexcept { return status == IOTGW_OK; }
};

namespace detail {
inline Credentials to_credentials(const iotgw_credentials& c) {
    Credentials out;
    out.cert_chain_path = c.cert_chain_path ? c.cert_chain_path : "";
    out.private_key_path = c.private_key_path ? c.private_key_path : "";
    out.ca_path = c.ca_path ? c.ca_path : "";
    out.not_after_unix = c.not_after_unix;
    return out;
}
}  // namespace detail

class Counter {
public:
    Counter() = default;
    explicit Counter(iotgw_counter* c) noexcept : c_(c) {}
    void add(uint64_t delta = 1) const noexcept {
        if (c_ != nullptr) detail::host_api().counter_add(c_, delta);
    }

private:
    iotgw_counter* c_ = nullptr;
};

class Gauge {
public:
    Gauge() = default;
    explicit Gauge(iotgw_gauge* g) noexcept : g_(g) {}
    void set(double value) const noexcept {
        if (g_ != nullptr) detail::host_api().gauge_set(g_, value);
    }

private:
    iotgw_gauge* g_ = nullptr;
};

// A one-shot timer on the event loop; re-arm it from its callback for periodic work. Deadlines
// are absolute on the host's monotonic clock so a periodic schedule never drifts. cancel(), a
// re-arm and destruction are final: the callback of the earlier arm does not run afterwards,
// even when its deadline had already passed (the host drops a handler that was already queued).
class Timer {
public:
    Timer(iotgw_host_instance* self, std::function<void()> fn)
        : state_(std::make_unique<State>(self, std::move(fn))) {
        state_->timer = detail::host_api().timer_create(self, &Timer::fire, state_.get());
        if (state_->timer == nullptr) throw Error("cannot create timer");
    }
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;
    Timer(Timer&&) noexcept = default;
    // The timer assigned over is destroyed first: left to the host it would stay armed with a
    // callback pointing at its freed state.
    Timer& operator=(Timer&& o) noexcept {
        if (this != &o) {
            destroy();
            state_ = std::move(o.state_);
        }
        return *this;
    }
    ~Timer() { destroy(); }

    static int64_t now_ns() noexcept { return detail::host_api().monotonic_ns(); }

    void arm_at(int64_t deadline_ns) {
        state_->deadline = deadline_ns;
        if (detail::host_api().timer_arm_at(state_->timer, deadline_ns) != IOTGW_OK)
            throw Error("cannot arm timer");
    }
    void arm_in(std::chrono::nanoseconds delay) { arm_at(now_ns() + delay.count()); }
    void cancel() noexcept { detail::host_api().timer_cancel(state_->timer); }
    // The deadline it was last armed for: the base of the next period of a drift-free schedule.
    int64_t deadline_ns() const noexcept { return state_->deadline; }

    // Drift-free periodic schedule: arms one `period` after the last deadline (not after now).
    // Whole periods already past (a suspended or overloaded loop) are skipped, not burst out
    // afterwards. Returns how many were skipped.
    uint64_t arm_next_period(std::chrono::nanoseconds period) {
        const int64_t p = period.count();
        int64_t next = state_->deadline + p;
        uint64_t missed = 0;
        const int64_t now = now_ns();
        if (p > 0 && next <= now) {
            missed = static_cast<uint64_t>((now - next) / p + 1);
            next += static_cast<int64_t>(missed) * p;
        }
        arm_at(next);
        return missed;
    }

private:
    struct State {
        State(iotgw_host_instance* s, std::function<void()> f) : self(s), fn(std::move(f)) {}
        iotgw_host_instance* self;
        std::function<void()> fn;
        iotgw_timer* timer = nullptr;
        int64_t deadline = 0;
    };
    void destroy() noexcept {
        if (state_ && state_->timer != nullptr) detail::host_api().timer_destroy(state_->timer);
        state_.reset();
    }
    // Exceptions must not unwind into the host's C frames: log them against the instance.
    static void fire(void* user) noexcept {
        auto* st = static_cast<State*>(user);
        detail::run_guarded(st->self, "timer callback", st->fn);
    }
    std::unique_ptr<State> state_;
};

// A subscription to internal events; unsubscribes when destroyed (the core also ends it when
// the instance stops).
class EventSubscription {
public:
    using Handler = std::function<void(std::string_view event, std::string_view payload_json)>;
    EventSubscription() = default;
    EventSubscription(iotgw_host_instance* self, const std::string& filter, Handler fn)
        : self_(self), state_(std::make_unique<State>(State{self, std::move(fn)})) {
        id_ = detail::host_api().event_subscribe(self, filter.c_str(), &EventSubscription::deliver, state_.get());
        if (id_ == 0) throw Error("cannot subscribe to events '" + filter + "': not a valid topic filter");
    }
    EventSubscription(EventSubscription&& o) noexcept
        : self_(o.self_), id_(std::exchange(o.id_, 0)), state_(std::move(o.state_)) {}
    EventSubscription& operator=(EventSubscription&& o) noexcept {
        if (this != &o) {
            reset();
            self_ = o.self_;
            id_ = std::exchange(o.id_, 0);
            state_ = std::move(o.state_);
        }
        return *this;
    }
    EventSubscription(const EventSubscription&) = delete;
    EventSubscription& operator=(const EventSubscription&) = delete;
    ~EventSubscription() { reset(); }

    void reset() noexcept {
        if (id_ != 0) detail::host_api().event_unsubscribe(self_, id_);
        id_ = 0;
    }

private:
    struct State {
        iotgw_host_instance* self;
        Handler fn;
    };
    static void deliver(void* user, const char* event, const char* payload) noexcept {
        auto* st = static_cast<State*>(user);
        detail::run_guarded(st->self, "event handler", [&] { st->fn(event, payload); });
    }
    iotgw_host_instance* self_ = nullptr;
    uint32_t id_ = 0;
    std::unique_ptr<State> state_;
};

class Host {
public:
    explicit Host(iotgw_host_instance* self) noexcept : self_(self) {}

    iotgw_host_instance* get() const noexcept { return self_; }
    std::string instance_name() const { return detail::host_api().instance_name(self_); }
    std::string thing() const { return detail::host_api().thing_name(self_); }

    bool log_enabled(int level) const noexcept {
        return detail::host_api().log_enabled(self_, level) != 0;
    }
    void log(int level, const std::string& text) const noexcept {
        detail::host_api().log(self_, level, text.c_str());
    }
    // Formats only when the level is enabled: a disabled debug line costs one call.
    template <class... Args>
    void logf(int level, const Args&... parts) const {
        if (!log_enabled(level)) return;
        std::ostringstream os;
        (os << ... << parts);
        log(level, os.str());
    }
    template <class... Args> void error(const Args&... a) const { logf(IOTGW_LOG_ERROR, a...); }
    template <class... Args> void warning(const Args&... a) const { logf(IOTGW_LOG_WARNING, a...); }
    template <class... Args> void notice(const Args&... a) const { logf(IOTGW_LOG_NOTICE, a...); }
    template <class... Args> void info(const Args&... a) const { logf(IOTGW_LOG_INFO, a...); }
    template <class... Args> void debug(const Args&... a) const { logf(IOTGW_LOG_DEBUG, a...); }

    // Continue a message down the pipeline it arrived on (delivery from on_message), or start it
    // in every pipeline fed by this instance (no delivery). Throws if the host refuses.
    void emit(const Message& m, uint32_t endpoint_id = 0) const { emit_impl(nullptr, m, endpoint_id); }
    void emit(const Delivery& d, const Message& m) const { emit_impl(d.get(), m, 0); }

    // Run `fn` on the event loop; safe from any thread. Dropped if the instance stops first.
    void post(std::function<void()> fn) const {
        auto* boxed = new Posted{self_, std::move(fn)};
        if (detail::host_api().post(self_, &Host::run_posted, boxed) != IOTGW_OK) {
            delete boxed;
            throw Error("cannot post work to the event loop: the gateway is stopping");
        }
    }

    Timer timer(std::function<void()> fn) const { return Timer(self_, std::move(fn)); }
    // ABI 1.4: watch a file descriptor this plugin owns on the loop (fd_watch.hpp).
    FdWatch watch_fd(int fd, FdWatch::Handler fn) const { return FdWatch(self_, fd, std::move(fn)); }
    Counter counter(const char* name, const char* help) const {
        return Counter(detail::host_api().counter(self_, name, help));
    }
    Gauge gauge(const char* name, const char* help) const {
        return Gauge(detail::host_api().gauge(self_, name, help));
    }

    // Publish "$iotgw/instance/<this instance>/<event>" to the gateway's internal event bus.
    // A retained event is replayed to instances that subscribe later.
    void publish_event(const std::string& event, const std::string& payload_json, bool retain = false) const {
        int rc = detail::host_api().event_publish(self_, event.c_str(), payload_json.c_str(), retain ? 1 : 0);
        if (rc != IOTGW_OK)
            throw Error("cannot publish event '" + event + "' (a single topic level without '/', '+', '#')", rc);
    }

    // Receive internal events matching the MQTT-style `filter`, e.g. "$iotgw/core/#" or
    // "$iotgw/instance/cloud/+". Keep the returned object as long as events are wanted.
    EventSubscription subscribe_events(const std::string& filter, EventSubscription::Handler fn) const {
        return EventSubscription(self_, filter, std::move(fn));
    }

    Credentials credentials(const std::string& instance) const {
        iotgw_credentials c{};
        c.size = sizeof(c);
        iotgw_error err{};
        if (int rc = detail::host_api().get_credentials(self_, instance.c_str(), &c, &err); rc != IOTGW_OK)
            throw Error("credentials '" + instance + "': " + err.message, rc);
        return detail::to_credentials(c);
    }

    // ABI 1.1: whether this gateway offers credential renewal at all (an older one does not).
    static bool can_renew_credentials() noexcept {
        return IOTGW_HOST_HAS(get_pending_credentials) && detail::host_api().credentials_renew != nullptr;
    }

    // Start a renewal operation on the credentials instance `instance`; `done` runs later on the
    // loop, exactly once. Throws (and never calls `done`) if the operation could not start.
    void renew_credentials(const std::string& instance, RenewalOp op, const std::string& input,
                           std::function<void(const RenewalResult&)> done) const {
        if (!can_renew_credentials())
            throw Error("this gateway is older than ABI 1.1 and cannot renew credentials", IOTGW_ERR_UNSUPPORTED);
        auto boxed = std::make_unique<RenewalBox>(RenewalBox{self_, std::move(done)});
        iotgw_error err{};
        int rc = detail::host_api().credentials_renew(self_, instance.c_str(), static_cast<uint32_t>(op),
                                                      input.data(), input.size(), &Host::renewal_done,
                                                      boxed.get(), &err);
        if (rc != IOTGW_OK)
            throw Error("credentials '" + instance + "': " + renewal_op_name(op) + ": " + err.message, rc);
        boxed.release();  // owned by the completion now
    }

    // Keep a certificate chain and its private key made elsewhere (PEM chain, then PEM key) as
    // the pending pair of `instance` (IOTGW_RENEWAL_IMPORT_PAIR); like renew_credentials.
    void import_credentials(const std::string& instance, const std::string& chain_and_key_pem,
                            std::function<void(const RenewalResult&)> done) const {
        if (!can_renew_credentials())
            throw Error("this gateway is older than ABI 1.1 and cannot renew credentials", IOTGW_ERR_UNSUPPORTED);
        auto boxed = std::make_unique<RenewalBox>(RenewalBox{self_, std::move(done)});
        iotgw_error err{};
        int rc = detail::host_api().credentials_renew(self_, instance.c_str(), IOTGW_RENEWAL_IMPORT_PAIR,
                                                      chain_and_key_pem.data(), chain_and_key_pem.size(),
                                                      &Host::renewal_done, boxed.get(), &err);
        if (rc != IOTGW_OK) throw Error("credentials '" + instance + "': import a key pair: " + err.message, rc);
        boxed.release();  // owned by the completion now
    }

    // The pending key and certificate of `instance` (after store_cert), e.g. to prove them.
    Credentials pending_credentials(const std::string& instance) const {
        if (!can_renew_credentials())
            throw Error("this gateway is older than ABI 1.1 and cannot renew credentials", IOTGW_ERR_UNSUPPORTED);
        iotgw_credentials c{};
        c.size = sizeof(c);
        iotgw_error err{};
        if (int rc = detail::host_api().get_pending_credentials(self_, instance.c_str(), &c, &err); rc != IOTGW_OK)
            throw Error("pending credentials of '" + instance + "': " + err.message, rc);
        return detail::to_credentials(c);
    }

    // ABI 1.3: the gateway's own version ("0.2.0"); empty on an older gateway.
    static std::string gateway_version() {
        if (!IOTGW_HOST_HAS(gateway_version) || detail::host_api().gateway_version == nullptr) return {};
        return detail::host_api().gateway_version();
    }

    struct MetricValue {
        std::string name;  // "<instance>.<name>"
        double value = 0;
        bool is_counter = false;
    };
    // ABI 1.3: every metric of the gateway now, in name order; empty on an older gateway.
    std::vector<MetricValue> metrics() const {
        std::vector<MetricValue> out;
        if (!IOTGW_HOST_HAS(metrics_read) || detail::host_api().metrics_read == nullptr) return out;
        detail::host_api().metrics_read(
            self_,
            [](void* user, const char* name, double value, int is_counter) noexcept {
                try {  // nothing may unwind into the gateway's frames; a metric lost to OOM is fine
                    static_cast<std::vector<MetricValue>*>(user)->push_back(
                        MetricValue{name != nullptr ? name : "", value, is_counter != 0});
                } catch (...) {
                }
            },
            &out);
        return out;
    }

private:
    void emit_impl(const iotgw_delivery* d, const Message& m, uint32_t endpoint) const {
        iotgw_message cm = m.to_c();
        int rc = detail::host_api().emit(self_, d, endpoint, &cm);
        if (rc != IOTGW_OK) throw Error("emit refused by the gateway (status " + std::to_string(rc) + ")", rc);
    }
    struct Posted {
        iotgw_host_instance* self;
        std::function<void()> fn;
    };
    struct RenewalBox {
        iotgw_host_instance* self;
        std::function<void(const RenewalResult&)> fn;
    };
    static void renewal_done(void* user, int status, const char* output, const char* error) noexcept {
        std::unique_ptr<RenewalBox> box(static_cast<RenewalBox*>(user));
        detail::run_guarded(box->self, "credentials renewal completion", [&] {
            RenewalResult r;
            r.status = status;
            r.output = output != nullptr ? output : "";
            r.error = error != nullptr ? error : (status == IOTGW_OK ? "" : "no reason given");
            box->fn(r);
        });
    }
    static void run_posted(void* user, int cancelled) noexcept {
        std::unique_ptr<Posted> p(static_cast<Posted*>(user));
        if (cancelled == 0) detail::run_guarded(p->self, "posted work", p->fn);
    }

    iotgw_host_instance* self_;
};

}  // namespace sdk
}  // namespace iotgw
