// Retry delays after a failed shadow request: doubling from `min` up to `max`, with "equal
// jitter" (between half and all of the step) so that a fleet resyncing after one broker restart
// does not hammer the shadow service in step, while a retry never comes sooner than half a step.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

namespace iotgw::plugins::shadow {

class Backoff {
public:
    Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max,
            uint64_t seed = std::random_device{}())
        : min_(min), max_(std::max(min, max)), rng_(seed) {}

    // The step of the n-th consecutive failure (n >= 1): min * 2^(n-1), at most max.
    std::chrono::milliseconds step(unsigned failures) const {
        const unsigned shift = failures == 0 ? 0 : std::min(failures - 1, 30u);
        return std::chrono::milliseconds(std::min<int64_t>(min_.count() << shift, max_.count()));
    }

    // A delay in [step/2, step].
    std::chrono::milliseconds delay(unsigned failures) {
        const int64_t s = step(failures).count();
        return std::chrono::milliseconds(std::uniform_int_distribution<int64_t>(s / 2, s)(rng_));
    }

private:
    std::chrono::milliseconds min_;
    std::chrono::milliseconds max_;
    std::mt19937_64 rng_;
};

}  // namespace iotgw::plugins::shadow
