// Config schema of the `watch` processor.
#pragma once

#include <iotgw/sdk.hpp>

namespace iotgw::plugins::watch {

using iotgw::sdk::Field;

// The heartbeat plugin's range of periods (plugins/heartbeat/schema.hpp): a control message
// outside it would be refused there, so the config refuses it here, before anything starts.
inline constexpr int64_t kMinPeriodMs = 1'000;
inline constexpr int64_t kMaxPeriodMs = 3'600'000;

inline constexpr iotgw_config_field kFields[] = {
    Field::duration("fast_period", "Heartbeat period while at least one console watches.")
        .with_default("\"10s\"")
        .at_least(kMinPeriodMs)
        .at_most(kMaxPeriodMs),
    Field::boolean("fast_retain", "Retain the heartbeats while watched.").with_default("true"),
    Field::duration("slow_period", "Heartbeat period while no console watches; not shorter than fast_period.")
        .with_default("\"5m\"")
        .at_least(kMinPeriodMs)
        .at_most(kMaxPeriodMs),
    Field::boolean("slow_retain", "Retain the heartbeats while nobody watches.").with_default("true"),
    Field::duration(
        "min_lease",
        "Shortest lease a watch message gets; a shorter lease_s is raised to it. Bounds the "
        "mode changes, each a heartbeat at once, to two per min_lease. Not longer than max_lease.")
        .with_default("\"10s\"")
        .at_least(1'000)
        .at_most(3'600'000),
    Field::duration("max_lease", "Longest lease a watch message gets; a longer lease_s is cut to it.")
        .with_default("\"5m\"")
        .at_least(1'000)
        .at_most(3'600'000),
    Field::integer("max_consoles",
                   "Consoles watching at once at most; watch messages of further console ids are refused.")
        .with_default("64")
        .at_least(1)
        .at_most(4096),
};

}  // namespace iotgw::plugins::watch
