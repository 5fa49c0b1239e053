// Config schema of the `heartbeat` source.
#pragma once

#include <iotgw/sdk.hpp>

namespace iotgw::plugins::heartbeat {

using iotgw::sdk::Field;

inline constexpr int64_t kMinPeriodMs = 1'000;
inline constexpr int64_t kMaxPeriodMs = 3'600'000;

inline constexpr iotgw_config_field kFields[] = {
    Field::duration("period",
                    "Time between two heartbeats; the schedule does not drift. Changeable at run time.")
        .with_default("\"10s\"")
        .at_least(kMinPeriodMs)
        .at_most(kMaxPeriodMs),
    Field::string("topic", "Topic of the heartbeat messages.").with_default("\"amr/${thing}/heartbeat\""),
    Field::integer("qos", "MQTT QoS of the heartbeats.").with_default("1").at_least(0).at_most(1),
    Field::boolean("retain", "Ask the broker to retain the last heartbeat. Changeable at run time.")
        .with_default("true"),
};

}  // namespace iotgw::plugins::heartbeat
