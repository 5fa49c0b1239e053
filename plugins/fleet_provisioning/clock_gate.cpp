#include "clock_gate.hpp"

#include "clock_check.hpp"

#include <iotgw/plugins/common/cert_fields.hpp>
#include <iotgw/plugins/common/seconds_text.hpp>

#include <algorithm>
#include <exception>
#include <utility>

namespace iotgw::plugins::fleet_provisioning {
namespace {

using common::iso8601_utc;
using common::seconds_text;
using std::chrono::milliseconds;
using std::chrono::seconds;

// While the clock is earlier than the earliest plausible time: how often to look again, and to
// say so in the log.
constexpr seconds kClockRecheck{10};
constexpr seconds kClockWarnEvery{600};

}  // namespace

EarliestTime earliest_time_setting(const std::string& configured) {
    if (configured.empty()) return {build_time_unix(), "the date this gateway was built"};
    try {
        return {parse_utc_date(configured), "earliest_time"};
    } catch (const std::exception& e) {
        throw sdk::ConfigError(std::string("'earliest_time': ") + e.what());
    }
}

ClockGate::ClockGate(sdk::Host host, EarliestTime earliest, milliseconds wait, std::string sync_flag_file)
    : host_(host), earliest_(std::move(earliest)), wait_(wait), sync_flag_file_(std::move(sync_flag_file)) {}

std::optional<std::chrono::nanoseconds> ClockGate::check() {
    const ClockReading r = read_clock(earliest_.unix, sync_flag_file_);
    const auto now = SteadyClock::now();
    switch (judge_clock(r)) {
        case ClockTrust::synchronised:
            if (wait_since_)
                host_.notice("the clock is synchronised now (", describe_clock(r, sync_flag_file_),
                             "): judging certificate expiry");
            wait_since_.reset();
            accepted_ = true;
            return std::nullopt;
        case ClockTrust::before_earliest:
            accepted_ = false;
            if (!warned_at_ || now - *warned_at_ >= kClockWarnEvery) {
                warned_at_ = now;
                host_.warning("the system clock says ", iso8601_utc(r.now), ", before ",
                              iso8601_utc(r.earliest), " (", earliest_.from,
                              "): it is wrong, so certificate expiry is not judged and nothing is "
                              "provisioned or rotated until it is set (check NTP); looking again every ",
                              kClockRecheck.count(), " s");
            }
            return kClockRecheck;
        case ClockTrust::unconfirmed:
            break;
    }
    if (accepted_) return std::nullopt;
    if (!wait_since_) {
        wait_since_ = now;
        host_.notice("waiting up to ", seconds_text(wait_),
                     " for a synchronised clock before judging certificate expiry (",
                     describe_clock(r, sync_flag_file_), ")");
    }
    const auto waited = now - *wait_since_;
    if (waited >= wait_) {
        host_.warning("the clock is still not confirmed synchronised after ", seconds_text(wait_), " (",
                      describe_clock(r, sync_flag_file_),
                      "); judging certificate expiry on it anyway: it says ", iso8601_utc(r.now));
        accepted_ = true;
        wait_since_.reset();
        return std::nullopt;
    }
    return std::min<std::chrono::nanoseconds>(seconds(2), wait_ - waited);
}

}  // namespace iotgw::plugins::fleet_provisioning
