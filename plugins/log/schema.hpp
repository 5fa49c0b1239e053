// Config schema of the `log` sink.
#pragma once

#include <iotgw/sdk.hpp>

namespace iotgw::plugins::log {

using iotgw::sdk::Field;

inline constexpr iotgw_config_field kFields[] = {
    Field::string("level", "Log priority of each message line.")
        .with_default("\"info\"")
        .one_of("error|warning|notice|info|debug"),
    Field::integer("max_payload", "Payload bytes shown per message; longer payloads are cut and their size shown.")
        .with_default("256")
        .at_least(0)
        .at_most(1048576),
};

}  // namespace iotgw::plugins::log
