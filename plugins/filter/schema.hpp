// Config schema of the `filter` processor.
#pragma once

#include <iotgw/sdk.hpp>

namespace iotgw::plugins::filter {

using iotgw::sdk::Field;

inline constexpr iotgw_config_field kFields[] = {
    Field::strings("topics", "MQTT topic filters ('+' and '#' wildcards); a message passes if its topic matches one.")
        .required()
        .at_least(1),
    Field::boolean("invert", "Pass the messages that match none of the filters instead.").with_default("false"),
};

}  // namespace iotgw::plugins::filter
