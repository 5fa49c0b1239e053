// `heartbeat`: the AMR's liveness signal. A drift-free periodic message with a sequence number,
// uptime and the current period, so a console can tell "alive", "restarted" (seq/uptime went
// back) and "late" (more than period_ms since the last one). Its period and retain flag can be
// changed at run time by a control message, which may also ask for a heartbeat at once, because
// every retained QoS 1 heartbeat costs metered AWS IoT messages: a fleet slows its heartbeats
// while nobody watches (plugins/watch), and speeds them up the moment a console looks.
#include "control.hpp"
#include "schema.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace iotgw::plugins::heartbeat {
namespace {

constexpr int64_t kNsPerMs = 1'000'000;

class Heartbeat final : public sdk::Source {
public:
    static constexpr bool accepts_messages = true;  // control messages

    Heartbeat(sdk::Host host, const sdk::Config& cfg)
        : Source(host),
          topic_(cfg.string("topic")),
          qos_(static_cast<int>(cfg.integer("qos"))),
          retain_(cfg.boolean("retain")),
          period_ms_(cfg.duration("period").count()),
          beats_(host.counter("beats", "heartbeats emitted")),
          skipped_(host.counter("skipped_periods", "periods skipped because the loop was late")),
          period_gauge_(host.gauge("period_s", "current heartbeat period in seconds")),
          timer_(host.timer([this] { beat(); })) {
        if (topic_.empty()) throw sdk::ConfigError("'topic' must not be empty");
        if (topic_.find_first_of("+#") != std::string::npos)
            throw sdk::ConfigError("'topic' is '" + topic_ +
                                   "': a topic to publish to cannot contain '+' or '#'");
    }

    void start() override {
        started_ns_ = sdk::Timer::now_ns();
        period_gauge_.set(static_cast<double>(period_ms_) / 1000.0);
        // The first heartbeat right away: a (re)started gateway is visible at once.
        timer_.arm_at(started_ns_);
    }

    void stop() noexcept override { timer_.cancel(); }

    void on_message(const sdk::Delivery&, uint32_t, const sdk::Message& m) override {
        const Control c = parse_control(m.payload);  // throws with the reason; nothing changed then
        if (c.retain) retain_ = *c.retain;
        if (c.period_ms) {
            period_ms_ = *c.period_ms;
            period_gauge_.set(static_cast<double>(period_ms_) / 1000.0);
            if (beats_sent_ > 0 && !c.now) {
                // From the last beat, not from now: the next one comes one new period after it,
                // or at once if that moment has already passed.
                const int64_t now = sdk::Timer::now_ns();
                int64_t next = last_beat_ns_ + period_ms_ * kNsPerMs;
                if (next < now) next = now;
                timer_.arm_at(next);
            }
        }
        if (c.now) {
            // On the loop, not inside this call: beat() then re-arms one period after it, so the
            // schedule restarts from this heartbeat.
            timer_.arm_at(sdk::Timer::now_ns());
        }
        host().notice("heartbeat control from ", m.topic, ": period ", period_ms_, " ms, retain ",
                      retain_ ? "true" : "false",
                      c.now ? " (a heartbeat now)" : " (from the next heartbeat)");
    }

private:
    void beat() {
        const int64_t deadline = timer_.deadline_ns();
        last_beat_ns_ = deadline;
        ++beats_sent_;
        const int64_t now = sdk::Timer::now_ns();
        const std::string payload = "{\"ts\":" +
                                    std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                       std::chrono::system_clock::now().time_since_epoch())
                                                       .count()) +
                                    ",\"seq\":" + std::to_string(beats_sent_) +
                                    ",\"uptime_ms\":" + std::to_string((now - started_ns_) / kNsPerMs) +
                                    ",\"period_ms\":" + std::to_string(period_ms_) + "}";
        beats_.add();
        // Armed before emitting: a control message handled during the emit re-arms it itself.
        if (const uint64_t missed = timer_.arm_next_period(std::chrono::nanoseconds(period_ms_ * kNsPerMs))) {
            skipped_.add(missed);
            host().debug("loop was late: skipped ", missed, " heartbeat period(s)");
        }
        host().emit(sdk::Message{topic_, payload, qos_, retain_});
    }

    const std::string topic_;
    const int qos_;
    bool retain_;
    int64_t period_ms_;
    sdk::Counter beats_;
    sdk::Counter skipped_;
    sdk::Gauge period_gauge_;
    sdk::Timer timer_;
    int64_t started_ns_ = 0;
    int64_t last_beat_ns_ = 0;  // the deadline the last heartbeat was scheduled for
    uint64_t beats_sent_ = 0;
};

}  // namespace
}  // namespace iotgw::plugins::heartbeat

IOTGW_DECLARE_PLUGIN(
    iotgw::plugins::heartbeat::Heartbeat,
    {.abi_major = 1,
     .abi_minor = 0,
     .name = "heartbeat",
     .version = "1.0.0",
     .description = "Periodic, drift-free AMR heartbeat (seq, uptime, period); period and retain "
                    "can be changed at run time by a control message.",
     .fields = iotgw::plugins::heartbeat::kFields})
