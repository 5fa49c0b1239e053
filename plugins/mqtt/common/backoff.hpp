// Reconnect delays: exponential backoff with full jitter (AWS architecture blog "Exponential
// Backoff And Jitter"): many gateways cut off at once by a broker restart then come back spread
// over the whole window instead of in synchronized waves.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

namespace iotgw::plugins::mqtt_conn {

class Backoff {
public:
    static constexpr std::chrono::milliseconds kFloor{100};

    Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max,
            uint64_t seed = std::random_device{}())
        : min_(std::max(min, kFloor)), max_(std::max(max, std::max(min, kFloor))), rng_(seed) {}

    // random(0, min(max, min * 2^attempt)), never below the floor.
    std::chrono::milliseconds delay(unsigned attempt) {
        return std::max(kFloor, std::chrono::milliseconds(uniform(0, ceiling(attempt).count())));
    }
    std::chrono::milliseconds ceiling(unsigned attempt) const {
        const unsigned shift = std::min(attempt, 30u);
        const int64_t c = min_.count() * (int64_t{1} << shift);
        return std::chrono::milliseconds(std::min<int64_t>(c, max_.count()));
    }
    // `base` plus up to 50 %: spreads two gateways that keep taking one client id from each other.
    std::chrono::milliseconds jittered(std::chrono::milliseconds base) {
        return std::max(kFloor, base + std::chrono::milliseconds(uniform(0, base.count() / 2)));
    }

private:
    int64_t uniform(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng_); }

    std::chrono::milliseconds min_;
    std::chrono::milliseconds max_;
    std::mt19937_64 rng_;
};

}  // namespace iotgw::plugins::mqtt_conn
