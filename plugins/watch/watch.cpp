// `watch`: runs the heartbeat fast only while an operator console watches this AMR. Consoles
// publish a retained watch message with a lease (docs/watched-heartbeat.md); this processor keeps
// one lease per console and sends the heartbeat instance run-time control messages: the fast
// mode (with a heartbeat at once) when the first lease begins, the slow mode when the last one
// ends and at start. Every fast heartbeat is two metered AWS IoT messages, and for most of a
// month nobody looks.
#include "schema.hpp"
#include "watch_leases.hpp"
#include "watch_message.hpp"

#include <iotgw/sdk/duration.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace iotgw::plugins::watch {
namespace {

HeartbeatMode mode(const sdk::Config& cfg, const char* period, const char* retain) {
    return HeartbeatMode{cfg.duration(period).count(), cfg.boolean(retain)};
}

LeaseOptions options(const sdk::Config& cfg) {
    LeaseOptions o;
    o.fast = mode(cfg, "fast_period", "fast_retain");
    o.slow = mode(cfg, "slow_period", "slow_retain");
    o.min_lease_ms = cfg.duration("min_lease").count();
    o.max_lease_ms = cfg.duration("max_lease").count();
    o.max_consoles = static_cast<std::size_t>(cfg.integer("max_consoles"));
    if (o.slow.period_ms < o.fast.period_ms)
        throw sdk::ConfigError("'slow_period' (" + sdk::format_duration_ms(o.slow.period_ms) +
                               ") is shorter than 'fast_period' (" +
                               sdk::format_duration_ms(o.fast.period_ms) +
                               "): the watched heartbeat must not be the slower one");
    if (o.min_lease_ms > o.max_lease_ms)
        throw sdk::ConfigError("'min_lease' (" + sdk::format_duration_ms(o.min_lease_ms) +
                               ") is longer than 'max_lease' (" + sdk::format_duration_ms(o.max_lease_ms) +
                               "): every lease is raised to min_lease and cut to max_lease");
    return o;
}

class Watch final : public sdk::Processor {
public:
    Watch(sdk::Host host, const sdk::Config& cfg)
        : Processor(host),
          leases_(options(cfg)),
          thing_(host.thing()),
          control_topic_("amr/" + thing_ + "/heartbeat/control"),
          consoles_(host.gauge("consoles", "consoles holding a lease")),
          watched_(host.gauge("watched", "1 while at least one console watches, else 0")),
          leases_granted_(host.counter("leases", "watch messages accepted (new leases and refreshes)")),
          refused_(host.counter("refused", "watch messages refused (malformed, foreign, too many consoles)")),
          timer_(host.timer([this] { on_lease_end(); })) {}

    void start() override {
        show();
        // The current mode (slow, unless a watch came first) once every instance has started:
        // the heartbeat, a source, starts after processors, so a control emitted here would find
        // it not running yet. The gateway's "started"/"reloaded" event comes after all starts
        // and before the heartbeat's first beat (its timer), so even that beat has the mode.
        started_ = host().subscribe_events("$iotgw/core/+", [this](std::string_view event, std::string_view) {
            if (announced_ || (event != "$iotgw/core/started" && event != "$iotgw/core/reloaded")) return;
            announced_ = true;
            send(leases_.start());
        });
    }

    void stop() noexcept override {
        timer_.cancel();
        started_.reset();
    }

    void on_message(const sdk::Delivery&, uint32_t, const sdk::Message& m) override {
        const int64_t now = sdk::Timer::now_ns();
        std::optional<ModeChange> change;
        try {
            std::optional<WatchRequest> request = parse_watch(m.payload, thing_);
            if (!request) return;  // a retained watch being deleted: nothing asked
            limit_to_expiry(*request, m.retain, m.expiry_s);
            change = leases_.watch(*request, now);
        } catch (const sdk::Error&) {
            refused_.add();
            throw;  // the gateway logs the reason and counts pipeline.<name>.failed
        }
        leases_granted_.add();
        if (change) send(*change);
        show();
        arm();
    }

private:
    void on_lease_end() {
        if (const std::optional<ModeChange> change = leases_.expire(sdk::Timer::now_ns())) send(*change);
        show();
        arm();
    }

    void arm() {
        if (const std::optional<int64_t> end = leases_.next_end_ns())
            timer_.arm_at(*end);
        else
            timer_.cancel();
    }

    // The gauges, and a line when consoles come or go without changing the mode.
    void show() {
        const std::size_t n = leases_.consoles();
        if (n != shown_consoles_ && n > 0 && shown_consoles_ > 0)
            host().info("watched by ", n, n == 1 ? " console" : " consoles");
        shown_consoles_ = n;
        consoles_.set(static_cast<double>(n));
        watched_.set(leases_.watched() ? 1.0 : 0.0);
    }

    void send(const ModeChange& change) {
        const LeaseOptions& o = leases_.options();
        const HeartbeatMode& m = change.watched ? o.fast : o.slow;
        const std::string how = "heartbeat every " + sdk::format_duration_ms(m.period_ms) + ", " +
                                (m.retain ? "retained" : "not retained");
        const std::size_t n = leases_.consoles();
        if (change.watched)
            host().notice("watched by ", n, n == 1 ? " console: " : " consoles: ", how);
        else
            host().notice("no console watching: ", how);
        // Not retained, QoS 1: it goes to the heartbeat instance through the pipeline.
        host().emit(sdk::Message{control_topic_, change.control, 1, false});
    }

    WatchLeases leases_;
    const std::string thing_;
    const std::string control_topic_;
    sdk::Gauge consoles_;
    sdk::Gauge watched_;
    sdk::Counter leases_granted_;
    sdk::Counter refused_;
    sdk::Timer timer_;
    sdk::EventSubscription started_;
    bool announced_ = false;
    std::size_t shown_consoles_ = 0;
};

}  // namespace
}  // namespace iotgw::plugins::watch

IOTGW_DECLARE_PLUGIN(
    iotgw::plugins::watch::Watch,
    {.abi_major = 1,
     .abi_minor = 2,  // the message expiry of a delivered watch (ABI 1.2)
     .name = "watch",
     .version = "1.1.0",
     .description = "Keeps the leases of the consoles watching this AMR and switches the heartbeat "
                    "between its fast (watched) and slow mode by run-time control messages.",
     .fields = iotgw::plugins::watch::kFields})
