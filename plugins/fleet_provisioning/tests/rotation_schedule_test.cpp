// When rotation starts: share of the lifetime, minimum time before expiry, bounded jitter.
#include "rotation_schedule.hpp"

#include <gtest/gtest.h>

namespace iotgw::plugins::fleet_provisioning {
namespace {

constexpr int64_t kDay = 86400;

TEST(RotationSchedule, ShareOfTheLifetime) {
    RotationPolicy p;  // 80 %, no minimum, no jitter
    EXPECT_EQ(rotation_due(1000, 1000 + 365 * kDay, p, 0.5), 1000 + 292 * kDay);
}

TEST(RotationSchedule, MinimumTimeBeforeExpiryWinsWhenEarlier) {
    RotationPolicy p;
    p.before_s = 90 * kDay;
    EXPECT_EQ(rotation_due(0, 365 * kDay, p, 0.0), 275 * kDay);
    p.before_s = 10 * kDay;  // later than 80 %: the share wins
    EXPECT_EQ(rotation_due(0, 365 * kDay, p, 0.0), 292 * kDay);
}

TEST(RotationSchedule, JitterIsAddedAndBoundedByHalfTheRemainingTime) {
    RotationPolicy p;
    p.jitter_s = 6 * 3600;
    EXPECT_EQ(rotation_due(0, 100 * kDay, p, 0.0), 80 * kDay);
    EXPECT_EQ(rotation_due(0, 100 * kDay, p, 0.5), 80 * kDay + 3 * 3600);
    // A 10-minute certificate: 80 % is at 480 s, 120 s remain, so at most 60 s of jitter.
    EXPECT_EQ(rotation_due(0, 600, p, 0.99), 540);
}

TEST(RotationSchedule, AnExpiredOrZeroLengthCertificateIsDueAtOnce) {
    RotationPolicy p;
    p.before_s = 30 * kDay;
    EXPECT_LE(rotation_due(500, 500, p, 0.7), 500);
    EXPECT_LE(rotation_due(0, 10, p, 0.0), 10);
}

}  // namespace
}  // namespace iotgw::plugins::fleet_provisioning
