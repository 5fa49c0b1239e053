// Config schema of the `events` source.
#pragma once

#include <iotgw/sdk.hpp>

namespace iotgw::plugins::events {

using iotgw::sdk::Field;

inline constexpr iotgw_config_field kFields[] = {
    Field::strings("events",
                   "Internal events to turn into messages, as MQTT-style filters over event names: "
                   "$iotgw/core/<started|reloaded|stopping>, $iotgw/instance/<name>/<event>.")
        .with_default("[\"$iotgw/core/#\"]")
        .at_least(1),
    Field::string("topic",
                  "Topic of the emitted messages; {event} becomes the event's last level and {name} the full "
                  "event name. Default: the event name itself.")
        .with_default("\"{name}\""),
};

}  // namespace iotgw::plugins::events
