// When to rotate a certificate: once `share` of its lifetime has passed, or `before` ahead of its
// expiry, whichever comes first, plus a random delay of up to `jitter` (a fleet provisioned in
// one day must not renew in one minute a year later). Pure arithmetic on wall-clock seconds so
// it can be tested without clocks.
#pragma once

#include <algorithm>
#include <cstdint>

namespace iotgw::plugins::fleet_provisioning {

struct RotationPolicy {
    double share = 0.8;    // of the lifetime, 0 < share <= 1
    int64_t before_s = 0;  // rotate at the latest this long before expiry
    int64_t jitter_s = 0;  // random extra delay, [0, jitter_s]
};

// The wall-clock second at which to start rotating; `random_unit` in [0, 1) picks the jitter.
// The jitter is capped at half the time left after the base moment, so it never pushes the start
// to where no time is left to retry.
inline int64_t rotation_due(int64_t not_before, int64_t not_after, const RotationPolicy& p,
                            double random_unit) {
    const int64_t lifetime = std::max<int64_t>(0, not_after - not_before);
    const int64_t by_share = not_before + static_cast<int64_t>(static_cast<double>(lifetime) * p.share);
    const int64_t by_margin = not_after - p.before_s;
    const int64_t base = std::min(by_share, by_margin);
    const int64_t jitter =
        static_cast<int64_t>(static_cast<double>(std::max<int64_t>(0, p.jitter_s)) * random_unit);
    const int64_t room = std::max<int64_t>(0, (not_after - base) / 2);
    return base + std::min(jitter, room);
}

}  // namespace iotgw::plugins::fleet_provisioning
