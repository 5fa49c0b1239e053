// The consoles watching this AMR, one lease each, and the heartbeat mode that follows from them:
// fast while at least one lease runs, slow otherwise (docs/watched-heartbeat.md). Time is passed
// in (monotonic nanoseconds), so the whole logic is tested without timers; the plugin arms one
// timer at next_end_ns().
#pragma once

#include "watch_message.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

namespace iotgw::plugins::watch {

struct HeartbeatMode {
    int64_t period_ms = 0;
    bool retain = false;
};

struct LeaseOptions {
    HeartbeatMode fast;
    HeartbeatMode slow;
    // Every lease is raised to min_lease_ms and cut to max_lease_ms (min <= max). The floor bounds
    // the mode changes, each a heartbeat at once, to two per min_lease whatever consoles ask.
    int64_t min_lease_ms = 0;
    int64_t max_lease_ms = 0;
    std::size_t max_consoles = 0;
};

// A change of mode, with the heartbeat control message that makes it.
struct ModeChange {
    bool watched = false;
    std::string control;  // JSON for the heartbeat plugin, e.g. {"period":"10s","retain":true,"now":true}
};

class WatchLeases {
public:
    explicit WatchLeases(LeaseOptions options);

    // The current mode's control, sent at start, without a heartbeat at once (the heartbeat's
    // first beat follows anyway): whatever the heartbeat's own config says, it runs slow until a
    // console watches, and fast while leases are held.
    ModeChange start() const;

    // A console's watch: its lease now ends lease_s, raised to min_lease and cut to max_lease,
    // after `now_ns` (a refresh replaces the end with the new one). Returns the fast mode's
    // control when this begins the watch. Leases already over at `now_ns` are dropped first.
    // Throws sdk::Error, changing nothing, for a console id not watching yet while max_consoles
    // are.
    std::optional<ModeChange> watch(const WatchRequest& request, int64_t now_ns);

    // Drops the leases that have ended by `now_ns`; returns the slow mode's control when that
    // ended the watch.
    std::optional<ModeChange> expire(int64_t now_ns);

    // When the next lease ends; nullopt when nobody watches.
    std::optional<int64_t> next_end_ns() const;
    std::size_t consoles() const noexcept { return ends_.size(); }
    bool watched() const noexcept { return !ends_.empty(); }
    const LeaseOptions& options() const noexcept { return options_; }

private:
    std::size_t drop_ended(int64_t now_ns);

    LeaseOptions options_;
    std::unordered_map<std::string, int64_t> ends_;  // console id -> end of its lease (ns)
};

}  // namespace iotgw::plugins::watch
