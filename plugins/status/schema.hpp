// Config schema of the `status` processor.
#pragma once

#include <iotgw/sdk.hpp>

namespace iotgw::plugins::status {

using iotgw::sdk::Field;

inline constexpr iotgw_config_field kFields[] = {
    Field::ref("connection", IOTGW_KIND_CONNECTION,
               "The connection whose link events trigger a republish of the last status (e.g. \"cloud\").")
        .required(),
    Field::string("topic", "The status topic: messages on it are remembered and sent with QoS 1, retained.")
        .with_default("\"amr/${thing}/status\""),
};

}  // namespace iotgw::plugins::status
