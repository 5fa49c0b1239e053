// Run-time control of the heartbeat: a JSON message {"period":"30s","retain":false} (either key
// or both). Parsing is separate from the plugin so every refusal can be tested directly.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace iotgw::plugins::heartbeat {

struct Control {
    std::optional<int64_t> period_ms;
    std::optional<bool> retain;
};

// Throws sdk::Error saying what is wrong (which key, what is expected) for anything but a valid
// control message; nothing is applied then.
Control parse_control(std::string_view payload);

// "250ms", "10s", "1m30s", "2h": units in descending order, as in the config file. nullopt if
// malformed.
std::optional<int64_t> parse_duration_ms(std::string_view text);

}  // namespace iotgw::plugins::heartbeat
