// Config schema of the `health` job handler.
#pragma once

#include <iotgw/sdk.hpp>

namespace iotgw::plugins::health {

using iotgw::sdk::Field;

inline constexpr iotgw_config_field kFields[] = {
    Field::string("connection", "The connection whose counters the report gives (connects, reconnects, drops).")
        .with_default("\"cloud\""),
    Field::ref("credentials", IOTGW_KIND_CREDENTIALS,
               "The credentials whose certificate's days left the report gives; none: not reported."),
};

}  // namespace iotgw::plugins::health
