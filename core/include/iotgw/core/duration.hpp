// Durations in configs are strings with units ("10s", "250ms", "1m30s", "2h"), never bare
// numbers: a bare 10 could be seconds or milliseconds, and that ambiguity has bitten operators.
// The rules are the SDK's (<iotgw/sdk/duration.hpp>), shared with plugins that parse durations.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace iotgw::core {

// Milliseconds, or nullopt if `text` is not a duration. Units: ms, s, m, h, d; parts may be
// combined in descending order ("1h30m"); the total must fit in int64 milliseconds.
std::optional<int64_t> parse_duration_ms(std::string_view text) noexcept;

// Shortest exact rendering: 90000 -> "1m30s", 250 -> "250ms", 0 -> "0s".
std::string format_duration_ms(int64_t ms);

}  // namespace iotgw::core
