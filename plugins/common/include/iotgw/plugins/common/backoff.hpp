// Retry delays: exponential backoff with jitter (AWS architecture blog "Exponential Backoff And
// Jitter"). The ceiling doubles per attempt from `min` up to `max`; the delay is a random point
// below it, so that many gateways cut off at once (a broker restart) come back spread out instead
// of in synchronized waves. Connections use full jitter (the whole window); the shadow's resyncs
// use equal jitter (never sooner than half a step) and no floor, since their `retry_min` may be
// below it. `spread` draws the first attempt after a loss every gateway may have seen at the same
// moment (a broker restart) from a window sized for the fleet, not from `min`.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace iotgw::plugins::common {

struct BackoffSettings {
    enum class Jitter {
        full,   // random(0, ceiling)
        equal,  // random(ceiling / 2, ceiling)
    };
    std::chrono::milliseconds min;
    std::chrono::milliseconds max;  // raised to `min` when smaller
    Jitter jitter = Jitter::full;
    // No delay is shorter, and `min` is raised to it: a broker refusing at once must not be
    // hammered in a tight loop.
    std::chrono::milliseconds floor{100};
};

class Backoff {
public:
    using Jitter = BackoffSettings::Jitter;

    explicit Backoff(const BackoffSettings& settings, uint64_t seed = std::random_device{}());

    // min * 2^attempt, at most max (attempt 0 is the first retry).
    std::chrono::milliseconds ceiling(unsigned attempt) const;
    // A random delay below ceiling(attempt), by the jitter, drawn from above the floor.
    std::chrono::milliseconds delay(unsigned attempt);
    // A random delay in [floor, window] (window at most `max`), uniform: the first
    // reconnect after a loss, spread so a fleet cut off at once stays under the account's connect
    // rate. A zero window gives delay(0).
    std::chrono::milliseconds spread(std::chrono::milliseconds window);
    // `base` plus up to 50 %: spreads two gateways that keep taking one client id from each other.
    std::chrono::milliseconds jittered(std::chrono::milliseconds base);

private:
    int64_t uniform(int64_t lo, int64_t hi);

    std::chrono::milliseconds min_;
    std::chrono::milliseconds max_;
    Jitter jitter_;
    std::chrono::milliseconds floor_;
    std::mt19937_64 rng_;
};

}  // namespace iotgw::plugins::common
