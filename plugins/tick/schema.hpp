// Config schema of the `tick` source.
#pragma once

#include <iotgw/sdk.hpp>

namespace iotgw::plugins::tick {

using iotgw::sdk::Field;

inline constexpr iotgw_config_field kFields[] = {
    Field::string("topic", "Topic of the emitted messages; ${thing} and other variables are expanded.").required(),
    Field::duration("interval", "Time between two messages; the schedule does not drift.")
        .with_default("\"1s\"")
        .at_least(1),
    Field::string("payload",
                  "Payload template: {seq} becomes the sequence number (from 1), {ts} the wall-clock time in "
                  "epoch milliseconds, {uptime} milliseconds since the instance started.")
        .with_default("\"{\\\"seq\\\":{seq},\\\"ts\\\":{ts}}\""),
    Field::integer("qos", "MQTT QoS requested for the messages.").with_default("0").at_least(0).at_most(1),
    Field::boolean("retain", "Ask the broker to retain the messages.").with_default("false"),
    Field::integer("count", "Stop after this many messages; 0 never stops.").with_default("0").at_least(0),
};

}  // namespace iotgw::plugins::tick
