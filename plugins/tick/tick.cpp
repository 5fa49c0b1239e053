// `tick`: a source that emits a templated message on a fixed, drift-free schedule. Useful for
// trying pipelines out, for synthetic load, and as the smallest complete source plugin.
#include "schema.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace iotgw::plugins::tick {
namespace {

class Tick final : public sdk::Source {
public:
    Tick(sdk::Host host, const sdk::Config& cfg)
        : Source(host),
          topic_(cfg.string("topic")),
          payload_template_(cfg.string("payload")),
          period_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(cfg.duration("interval")).count()),
          qos_(static_cast<int>(cfg.integer("qos"))),
          retain_(cfg.boolean("retain")),
          count_(static_cast<uint64_t>(cfg.integer("count"))),
          emitted_(host.counter("emitted", "messages emitted")),
          skipped_(host.counter("skipped_periods", "periods skipped because the loop was late")),
          timer_(host.timer([this] { fire(); })) {
        if (topic_.empty()) throw sdk::ConfigError("'topic' must not be empty");
    }

    void start() override {
        started_ns_ = sdk::Timer::now_ns();
        timer_.arm_at(started_ns_ + period_ns_);
    }

    void stop() noexcept override { timer_.cancel(); }

private:
    void fire() {
        ++seq_;
        const std::string payload = render();
        host().emit(sdk::Message{topic_, payload, qos_, retain_});
        emitted_.add();
        if (count_ != 0 && seq_ >= count_) {
            host().info("emitted ", seq_, " message(s); count reached, stopping");
            return;
        }
        if (const uint64_t missed = timer_.arm_next_period(std::chrono::nanoseconds(period_ns_))) {
            skipped_.add(missed);
            host().debug("loop was late: skipped ", missed, " period(s)");
        }
    }

    std::string render() const {
        std::string out;
        out.reserve(payload_template_.size() + 24);
        for (size_t i = 0; i < payload_template_.size(); ++i) {
            if (payload_template_[i] == '{') {
                const size_t close = payload_template_.find('}', i);
                if (close != std::string::npos) {
                    const std::string_view key(payload_template_.data() + i + 1, close - i - 1);
                    if (key == "seq") {
                        out += std::to_string(seq_);
                        i = close;
                        continue;
                    }
                    if (key == "ts") {
                        out += std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                  std::chrono::system_clock::now().time_since_epoch())
                                                  .count());
                        i = close;
                        continue;
                    }
                    if (key == "uptime") {
                        out += std::to_string((sdk::Timer::now_ns() - started_ns_) / 1'000'000);
                        i = close;
                        continue;
                    }
                }
            }
            out.push_back(payload_template_[i]);
        }
        return out;
    }

    const std::string topic_;
    const std::string payload_template_;
    const int64_t period_ns_;
    const int qos_;
    const bool retain_;
    const uint64_t count_;
    sdk::Counter emitted_;
    sdk::Counter skipped_;
    sdk::Timer timer_;
    int64_t started_ns_ = 0;
    uint64_t seq_ = 0;
};

}  // namespace
}  // namespace iotgw::plugins::tick

IOTGW_DECLARE_PLUGIN(iotgw::plugins::tick::Tick,
                     {.abi_major = 1,
                      .abi_minor = 0,
                      .name = "tick",
                      .version = "1.0.0",
                      .description = "Emits a templated message on a fixed, drift-free schedule.",
                      .fields = iotgw::plugins::tick::kFields})
