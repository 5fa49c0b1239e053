// The gate in front of every expiry judgement: certificate dates mean nothing on a wrong clock
// (clock_check.hpp says how a clock is judged). A clock before the earliest plausible time is
// never used; an unconfirmed one is used only after a bounded wait for NTP, so a gateway
// without time synchronisation still provisions, with a warning. It logs what it decides and
// says when to look again; the plugin owns the timer.
#pragma once

#include <iotgw/sdk.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace iotgw::plugins::fleet_provisioning {

// The earliest plausible wall-clock time and where it comes from, for the log.
struct EarliestTime {
    int64_t unix = 0;
    std::string from;
};

// `earliest_time` as configured: empty means the build time; else a UTC date. Throws
// sdk::ConfigError naming the field.
EarliestTime earliest_time_setting(const std::string& configured);

class ClockGate {
public:
    ClockGate(sdk::Host host, EarliestTime earliest, std::chrono::milliseconds wait,
              std::string sync_flag_file);

    // nullopt when expiry may be judged now; otherwise how long to wait before asking again.
    std::optional<std::chrono::nanoseconds> check();

    // The clock has been trusted (synchronised, or waited for long enough) and is not earlier
    // than the earliest plausible time since.
    bool accepted() const { return accepted_; }

private:
    using SteadyClock = std::chrono::steady_clock;

    sdk::Host host_;
    const EarliestTime earliest_;
    const std::chrono::milliseconds wait_;
    const std::string sync_flag_file_;
    bool accepted_ = false;
    std::optional<SteadyClock::time_point> wait_since_, warned_at_;
};

}  // namespace iotgw::plugins::fleet_provisioning
