// The pace of one connection's publishes: a token bucket holding one second's worth at the
// configured rate. AWS IoT Core throttles more than 100 PUBLISH requests per second per
// connection (PUBACK 0x97; localcore: 0x87), with a bucket of the same kind: as long as this
// bucket is never fuller nor faster than the broker's, the broker never runs dry, so a burst
// from the pipelines waits here instead of being refused there. When the broker refuses anyway
// (a broker with a lower limit, or packets bunched up on the way), the pace is halved and then
// raised again by a tenth of the configured rate per second without refusals (AIMD), so that it
// settles under whatever rate the broker really allows. Pure logic over a caller-supplied
// monotonic clock: unit-tested without a loop.
#pragma once

#include <algorithm>
#include <cstdint>

namespace iotgw::plugins::mqtt {

class PublishPacer {
public:
    explicit PublishPacer(double rate_per_second)
        : configured_(std::max(1.0, rate_per_second)), rate_(configured_), tokens_(configured_) {}

    // Takes one token if there is one: true when a publish may go now.
    bool try_take(int64_t now_ns) {
        refill(now_ns);
        if (tokens_ < 1.0) return false;
        tokens_ -= 1.0;
        return true;
    }

    // Nanoseconds until the next token (0 if one is there), at least 1 ms so a timer armed with it
    // does not spin.
    int64_t wait_ns(int64_t now_ns) {
        refill(now_ns);
        if (tokens_ >= 1.0) return 0;
        const auto ns = static_cast<int64_t>((1.0 - tokens_) / rate_ * 1e9) + 1;
        return std::max<int64_t>(ns, 1'000'000);
    }

    // The broker refused a publish for its rate: halve the pace (not below 1 per second) and empty
    // the bucket, so sending resumes slowly after the hold.
    void throttled(int64_t now_ns) {
        refill(now_ns);
        rate_ = std::max(1.0, rate_ / 2);
        tokens_ = 0;
        raised_at_ns_ = now_ns;
    }

    double rate() const noexcept { return rate_; }
    double configured_rate() const noexcept { return configured_; }

private:
    static constexpr int64_t kSecondNs = 1'000'000'000;

    void refill(int64_t now_ns) {
        if (now_ns <= last_ns_) return;  // the first call, or a clock that did not move
        if (rate_ < configured_ && raised_at_ns_ >= 0) {
            // Additive increase: a tenth of the configured rate per whole second without refusals.
            const int64_t seconds = (now_ns - raised_at_ns_) / kSecondNs;
            if (seconds > 0) {
                rate_ = std::min(configured_,
                                 rate_ + static_cast<double>(seconds) * std::max(1.0, configured_ / 10));
                raised_at_ns_ += seconds * kSecondNs;
            }
        }
        if (last_ns_ >= 0)
            tokens_ = std::min(rate_, tokens_ + static_cast<double>(now_ns - last_ns_) / kSecondNs * rate_);
        last_ns_ = now_ns;
    }

    double configured_;
    double rate_;
    double tokens_;              // starts full: a new gateway may send one second's worth at once
    int64_t last_ns_ = -1;       // when tokens_ was last brought up to date
    int64_t raised_at_ns_ = -1;  // start of the current second without refusals (after a refusal)
};

}  // namespace iotgw::plugins::mqtt
