// The Device Shadow request rate per thing (ShadowRateLimiter in shadow.hpp).
#include <algorithm>

#include "shadow.hpp"

namespace localcore {
namespace {

constexpr std::int64_t kUnitsPerRequest = 1000;
// Refilling saturates long before this; the cap keeps elapsed * rate far from overflow.
constexpr std::int64_t kMaxElapsedMs = 3'600'000;

}  // namespace

ShadowRateLimiter::ShadowRateLimiter(unsigned per_second, std::size_t max_tracked)
    : per_second_(per_second),
      capacity_(static_cast<std::int64_t>(per_second) * kUnitsPerRequest),
      max_tracked_(std::max<std::size_t>(max_tracked, 1)) {}

std::int64_t ShadowRateLimiter::refilled(const Bucket& bucket, std::int64_t now_ms) const {
    const std::int64_t elapsed = std::clamp<std::int64_t>(now_ms - bucket.last_ms, 0, kMaxElapsedMs);
    // per_second requests per 1000 ms = per_second units per ms.
    return std::min(capacity_, bucket.units + elapsed * per_second_);
}

void ShadowRateLimiter::make_room(std::int64_t now_ms) {
    std::erase_if(buckets_, [&](const auto& entry) { return refilled(entry.second, now_ms) >= capacity_; });
    if (buckets_.size() < max_tracked_) return;
    auto fullest = std::max_element(buckets_.begin(), buckets_.end(), [&](const auto& a, const auto& b) {
        return refilled(a.second, now_ms) < refilled(b.second, now_ms);
    });
    buckets_.erase(fullest);
}

bool ShadowRateLimiter::allow(std::string_view thing, std::int64_t now_ms) {
    if (per_second_ == 0) return true;
    auto it = buckets_.find(std::string(thing));
    if (it == buckets_.end()) {
        if (buckets_.size() >= max_tracked_) make_room(now_ms);
        it = buckets_.emplace(std::string(thing), Bucket{capacity_, now_ms}).first;
    }
    Bucket& bucket = it->second;
    bucket.units = refilled(bucket, now_ms);
    bucket.last_ms = std::max(bucket.last_ms, now_ms);  // a clock going back must not refill twice
    if (bucket.units < kUnitsPerRequest) return false;
    bucket.units -= kUnitsPerRequest;
    return true;
}

}  // namespace localcore
