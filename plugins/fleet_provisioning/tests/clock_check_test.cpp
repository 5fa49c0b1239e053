// When the wall clock may be used to judge certificate expiry (clock_check.hpp).
#include "clock_check.hpp"

#include <gtest/gtest.h>

namespace iotgw::plugins::fleet_provisioning {
namespace {

constexpr int64_t kEarliest = 1'790'000'000;  // 2026-09-21

ClockReading reading(int64_t now, int kernel, bool service) {
    ClockReading r;
    r.now = now;
    r.earliest = kEarliest;
    r.kernel_synced = kernel;
    r.service_synced = service;
    return r;
}

TEST(ClockCheck, AClockBeforeTheEarliestPlausibleTimeIsNeverTrustedEvenWhenSynchronised) {
    EXPECT_EQ(judge_clock(reading(kEarliest - 1, 1, true)), ClockTrust::before_earliest);
    EXPECT_EQ(judge_clock(reading(0, -1, false)), ClockTrust::before_earliest);  // 1970 after boot
}

TEST(ClockCheck, EitherTheKernelOrTimesyncdConfirmsSynchronisation) {
    EXPECT_EQ(judge_clock(reading(kEarliest, 1, false)), ClockTrust::synchronised);
    EXPECT_EQ(judge_clock(reading(kEarliest, -1, true)), ClockTrust::synchronised);  // adjtimex refused
    EXPECT_EQ(judge_clock(reading(kEarliest, 0, true)), ClockTrust::synchronised);
    EXPECT_EQ(judge_clock(reading(kEarliest, 0, false)), ClockTrust::unconfirmed);
    EXPECT_EQ(judge_clock(reading(kEarliest, -1, false)), ClockTrust::unconfirmed);
}

TEST(ClockCheck, TheDescriptionNamesBothSources) {
    const std::string file = "/run/systemd/timesync/synchronized";
    EXPECT_EQ(describe_clock(reading(kEarliest, 0, false), file),
              "the kernel reports the clock unsynchronised and " + file + " does not exist");
    EXPECT_EQ(describe_clock(reading(kEarliest, -1, true), file),
              "the kernel's clock state cannot be read here and " + file + " exists");
    EXPECT_EQ(describe_clock(reading(kEarliest, 1, false), ""), "the kernel reports the clock synchronised");
}

TEST(ClockCheck, ReadsAFlagFileAndTheRealClock) {
    const ClockReading r = read_clock(kEarliest, "/nonexistent/synchronized");
    EXPECT_FALSE(r.service_synced);
    EXPECT_GT(r.now, kEarliest);
    EXPECT_TRUE(read_clock(kEarliest, "/").service_synced);
}

TEST(ClockCheck, ParsesUtcDatesAndRejectsOthers) {
    EXPECT_EQ(parse_utc_date("1970-01-02"), 86400);
    EXPECT_EQ(parse_utc_date("2026-11-28T12:00:00Z"), 1'795'867'200);
    for (const char* bad : {"", "2026-11-28 12:00", "28.11.2026", "2026-11-28T12:00:00", "soon"})
        EXPECT_THROW(parse_utc_date(bad), std::invalid_argument) << bad;
}

}  // namespace
}  // namespace iotgw::plugins::fleet_provisioning
