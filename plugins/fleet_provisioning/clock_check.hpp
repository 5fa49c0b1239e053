// Whether the wall clock can be trusted to judge certificate expiry. A Raspberry Pi has no RTC: it
// boots with the time fake-hwclock saved at shutdown (or 1970) and NTP corrects it later. Judged
// on such a clock a valid certificate looks expired or not yet valid, and the gateway would
// provision or rotate for nothing (or, worse, skip a rotation that is due).
//   - A clock earlier than `earliest` (by default the build time) is never trusted.
//   - Otherwise the clock is "synchronised" when the kernel says so (adjtimex: no STA_UNSYNC) or
//     systemd-timesyncd says so (/run/systemd/timesync/synchronized exists). Under the packaged
//     unit (ProtectClock=, SystemCallErrorNumber=EPERM) adjtimex is refused and only timesyncd's
//     flag counts; the caller waits a bounded time for it and then proceeds with a warning.
#pragma once

#include <sys/timex.h>
#include <unistd.h>

#include <cstdint>
#include <ctime>
#include <stdexcept>
#include <string>

namespace iotgw::plugins::fleet_provisioning {

enum class ClockTrust { synchronised, unconfirmed, before_earliest };

struct ClockReading {
    int64_t now = 0;
    int64_t earliest = 0;
    // Kernel NTP state: 1 synchronised, 0 not, -1 unknown (adjtimex refused).
    int kernel_synced = -1;
    bool service_synced = false;
};

// Reads the clock, the kernel's NTP state and timesyncd's flag file `sync_flag_file`.
inline ClockReading read_clock(int64_t earliest, const std::string& sync_flag_file) {
    ClockReading r;
    r.earliest = earliest;
    r.now = static_cast<int64_t>(std::time(nullptr));
    timex tx{};  // modes = 0: read only
    const int state = ::adjtimex(&tx);
    if (state == -1)
        r.kernel_synced = -1;  // EPERM under a seccomp filter: unknown, not "unsynchronised"
    else
        r.kernel_synced = (state != TIME_ERROR && (tx.status & STA_UNSYNC) == 0) ? 1 : 0;
    r.service_synced = !sync_flag_file.empty() && ::access(sync_flag_file.c_str(), F_OK) == 0;
    return r;
}

inline ClockTrust judge_clock(const ClockReading& r) {
    if (r.now < r.earliest) return ClockTrust::before_earliest;
    if (r.kernel_synced == 1 || r.service_synced) return ClockTrust::synchronised;
    return ClockTrust::unconfirmed;
}

// One sentence for the log, e.g. "the kernel reports the clock unsynchronised and
// /run/systemd/timesync/synchronized does not exist".
inline std::string describe_clock(const ClockReading& r, const std::string& sync_flag_file) {
    std::string kernel = r.kernel_synced == 1   ? "the kernel reports the clock synchronised"
                         : r.kernel_synced == 0 ? "the kernel reports the clock unsynchronised"
                                                : "the kernel's clock state cannot be read here";
    if (sync_flag_file.empty()) return kernel;
    return kernel + " and " + sync_flag_file + (r.service_synced ? " exists" : " does not exist");
}

// The build time (from CMake's string(TIMESTAMP), which honours SOURCE_DATE_EPOCH).
int64_t build_time_unix();

// "2026-11-28" or "2026-11-28T12:00:00Z" (UTC) to seconds; throws std::invalid_argument.
inline int64_t parse_utc_date(const std::string& text) {
    std::tm tm{};
    const char* end = ::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end == nullptr || *end != '\0') {
        tm = std::tm{};
        end = ::strptime(text.c_str(), "%Y-%m-%d", &tm);
    }
    if (end == nullptr || *end != '\0')
        throw std::invalid_argument("'" + text + "' is not a UTC date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)");
    return static_cast<int64_t>(::timegm(&tm));
}

}  // namespace iotgw::plugins::fleet_provisioning
