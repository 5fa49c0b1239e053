#include "watch_leases.hpp"

#include <iotgw/sdk/duration.hpp>
#include <iotgw/sdk/errors.hpp>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <utility>

namespace iotgw::plugins::watch {
namespace {

constexpr int64_t kNsPerMs = 1'000'000;

// {"period":"10s","retain":true[,"now":true]}: the heartbeat plugin's run-time control
// (plugins/heartbeat/README.md). "now" makes an opening card get a fresh heartbeat at once
// instead of waiting up to a whole slow period, and at a lease's end it sends the first slow
// heartbeat at once: until then every console (and the retained message) holds a heartbeat
// announcing the fast period, and would call the AMR late 25 s after it.
std::string control(const HeartbeatMode& mode, bool now) {
    rapidjson::StringBuffer out;
    rapidjson::Writer<rapidjson::StringBuffer> w(out);
    const std::string period = sdk::format_duration_ms(mode.period_ms);
    w.StartObject();
    w.Key("period");
    w.String(period.c_str(), static_cast<rapidjson::SizeType>(period.size()));
    w.Key("retain");
    w.Bool(mode.retain);
    if (now) {
        w.Key("now");
        w.Bool(true);
    }
    w.EndObject();
    return std::string(out.GetString(), out.GetSize());
}

}  // namespace

WatchLeases::WatchLeases(LeaseOptions options) : options_(options) {}

ModeChange WatchLeases::start() const {
    if (watched()) return ModeChange{true, control(options_.fast, false)};
    return ModeChange{false, control(options_.slow, false)};
}

std::optional<ModeChange> WatchLeases::watch(const WatchRequest& request, int64_t now_ns) {
    drop_ended(now_ns);
    const bool was_watched = watched();
    auto it = ends_.find(request.console);
    if (it == ends_.end() && ends_.size() >= options_.max_consoles)
        throw sdk::Error(
            "watch refused: " + std::to_string(ends_.size()) +
            " consoles are watching already, the most this gateway keeps (max_consoles); console \"" +
            request.console + "\" is not counted");
    // A lease_s far above max_lease is clamped before converting, so a huge one cannot overflow.
    const auto clearly_above_s = static_cast<uint64_t>(options_.max_lease_ms / 1000) + 1;
    const int64_t asked_ms = request.lease_s > clearly_above_s ? options_.max_lease_ms
                                                               : static_cast<int64_t>(request.lease_s) * 1000;
    // Raised to min_lease: a console asking for 1 s leases once a second would otherwise end and
    // begin the watch every second, each time a heartbeat at once (two metered messages).
    const int64_t lease_ms = std::max(std::min(asked_ms, options_.max_lease_ms), options_.min_lease_ms);
    const int64_t end = now_ns + lease_ms * kNsPerMs;
    // A refresh only extends: console ids are readable by every console (the retained watch
    // carries them), so a shorter lease under another console's id must not cut that lease short.
    if (it == ends_.end())
        ends_.emplace(request.console, end);
    else
        it->second = std::max(it->second, end);
    if (was_watched) return std::nullopt;
    return ModeChange{true, control(options_.fast, true)};
}

std::optional<ModeChange> WatchLeases::expire(int64_t now_ns) {
    if (drop_ended(now_ns) == 0 || watched()) return std::nullopt;
    return ModeChange{false, control(options_.slow, true)};
}

std::optional<int64_t> WatchLeases::next_end_ns() const {
    if (ends_.empty()) return std::nullopt;
    return std::min_element(ends_.begin(), ends_.end(),
                            [](const auto& a, const auto& b) { return a.second < b.second; })
        ->second;
}

std::size_t WatchLeases::drop_ended(int64_t now_ns) {
    return std::erase_if(ends_, [now_ns](const auto& lease) { return lease.second <= now_ns; });
}

}  // namespace iotgw::plugins::watch
