// The config file's durations are the SDK's (<iotgw/sdk/duration.hpp>), so that plugins parsing
// durations at run time accept exactly what the config accepts.
#include <iotgw/core/duration.hpp>
#include <iotgw/sdk/duration.hpp>

namespace iotgw::core {

std::optional<int64_t> parse_duration_ms(std::string_view text) noexcept {
    return sdk::parse_duration_ms(text);
}

std::string format_duration_ms(int64_t ms) { return sdk::format_duration_ms(ms); }

}  // namespace iotgw::core
