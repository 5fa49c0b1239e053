#include <iotgw/plugins/common/backoff.hpp>

#include <algorithm>

namespace iotgw::plugins::common {

using std::chrono::milliseconds;

Backoff::Backoff(const BackoffSettings& s, uint64_t seed)
    : min_(std::max(s.min, s.floor)),
      max_(std::max(s.max, min_)),
      jitter_(s.jitter),
      floor_(s.floor),
      rng_(seed) {}

milliseconds Backoff::ceiling(unsigned attempt) const {
    const unsigned shift = std::min(attempt, 30u);
    const int64_t c = min_.count() * (int64_t{1} << shift);
    return milliseconds(std::min<int64_t>(c, max_.count()));
}

milliseconds Backoff::delay(unsigned attempt) {
    const int64_t c = ceiling(attempt).count();
    // Drawn from above the floor rather than raised to it: raising would put every draw below the
    // floor on the same instant (half of a fleet's second attempts at exactly 1 s).
    const int64_t lowest = std::max(jitter_ == Jitter::equal ? c / 2 : 0, std::min(floor_.count(), c));
    return std::max(floor_, milliseconds(uniform(lowest, c)));
}

milliseconds Backoff::spread(milliseconds window) {
    if (window <= milliseconds::zero()) return delay(0);
    const int64_t hi = std::min(window, max_).count();
    return std::max(floor_, milliseconds(uniform(std::min(floor_.count(), hi), hi)));
}

milliseconds Backoff::jittered(milliseconds base) {
    return std::max(floor_, base + milliseconds(uniform(0, base.count() / 2)));
}

int64_t Backoff::uniform(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
}

}  // namespace iotgw::plugins::common
