// Durations: one parser for the config file (core) and for plugins that read durations at run
// time (heartbeat's control messages), so both accept the same texts, "1d" included.
#include <iotgw/core/duration.hpp>
#include <iotgw/sdk/duration.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>

namespace iotgw {
namespace {

TEST(SdkDuration, ParsesEveryUnitDaysIncluded) {
    EXPECT_EQ(sdk::parse_duration_ms("250ms"), 250);
    EXPECT_EQ(sdk::parse_duration_ms("10s"), 10'000);
    EXPECT_EQ(sdk::parse_duration_ms("1m30s"), 90'000);
    EXPECT_EQ(sdk::parse_duration_ms("2h"), 7'200'000);
    EXPECT_EQ(sdk::parse_duration_ms("1d"), 86'400'000);
    EXPECT_EQ(sdk::parse_duration_ms("1d2h3m4s5ms"), 93'784'005);
    EXPECT_EQ(sdk::parse_duration_ms("0d1s"), 1'000);
}

TEST(SdkDuration, CoreAndSdkAgreeOnEveryText) {
    for (const char* text : {"0s",
                             "250ms",
                             "10s",
                             "1m30s",
                             "2h",
                             "1d",
                             "7d",
                             "1d12h",
                             "1d2h3m4s5ms",
                             "0d1s",
                             "1h1d",
                             "1dd",
                             "1D",
                             "d",
                             "1",
                             "",
                             "-1d",
                             "1.5d",
                             "1 d",
                             "30s10m",
                             "1s1s",
                             "1ms1s",
                             "10S",
                             "9223372036854775807ms",
                             "9223372036854775808ms",
                             "106751991167d",
                             "106751991168d",
                             "99999999999999999999s"}) {
        EXPECT_EQ(core::parse_duration_ms(text), sdk::parse_duration_ms(text)) << text;
    }
}

TEST(SdkDuration, FormatsWhatItParses) {
    for (const int64_t ms : {int64_t{0}, int64_t{1}, int64_t{90'000}, int64_t{86'400'000 + 1}, INT64_MAX}) {
        EXPECT_EQ(sdk::format_duration_ms(ms), core::format_duration_ms(ms));
        EXPECT_EQ(sdk::parse_duration_ms(sdk::format_duration_ms(ms)), ms) << ms;
    }
    EXPECT_EQ(sdk::format_duration_ms(2 * 86'400'000), "2d");
}

}  // namespace
}  // namespace iotgw
