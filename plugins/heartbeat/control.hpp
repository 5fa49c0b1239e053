// Run-time control of the heartbeat: a JSON message {"period":"30s","retain":false,"now":true}
// (any of the keys, at least one change). Parsing is separate from the plugin so every refusal
// can be tested directly. The period is a duration as the config file writes it
// (<iotgw/sdk/duration.hpp>).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace iotgw::plugins::heartbeat {

struct Control {
    std::optional<int64_t> period_ms;
    std::optional<bool> retain;
    // Send a heartbeat at once and restart the schedule from it: a console that starts watching
    // sees a fresh heartbeat (with the new period) instead of waiting up to a whole slow period.
    bool now = false;
};

// Throws sdk::Error saying what is wrong (which key, what is expected) for anything but a valid
// control message; nothing is applied then.
Control parse_control(std::string_view payload);

}  // namespace iotgw::plugins::heartbeat
