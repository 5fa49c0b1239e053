// Durations as the config file writes them: strings with units ("10s", "250ms", "1m30s", "2h",
// "1d"), never bare numbers (a bare 10 could be seconds or milliseconds). In the SDK because the
// core (config values) and plugins that take durations at run time (heartbeat's control
// messages) must accept exactly the same texts.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace iotgw {
namespace [[gnu::visibility("hidden")]] sdk {

namespace duration_detail {

struct Unit {
    std::string_view suffix;
    int64_t ms;
};

// Descending size, which is also the only order parts may appear in ("1h30m", not "30m1h").
inline constexpr std::array<Unit, 5> kUnits{
    {{"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}}};

}  // namespace duration_detail

// Milliseconds, or nullopt if `text` is not a duration. Units: ms, s, m, h, d; parts may be
// combined in descending order, each unit once ("1h30m"); the total must fit in int64
// milliseconds. No sign, no spaces, no fractions.
inline std::optional<int64_t> parse_duration_ms(std::string_view text) noexcept {
    using duration_detail::kUnits;
    if (text.empty()) return std::nullopt;
    constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
    int64_t total = 0;
    std::size_t next_unit = 0;  // index into kUnits of the largest unit still allowed
    std::size_t i = 0;
    while (i < text.size()) {
        if (text[i] < '0' || text[i] > '9') return std::nullopt;
        int64_t n = 0;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            const int digit = text[i] - '0';
            if (n > (kMax - digit) / 10) return std::nullopt;
            n = n * 10 + digit;
            ++i;
        }
        const std::size_t start = i;
        while (i < text.size() && ((text[i] >= 'a' && text[i] <= 'z') || (text[i] >= 'A' && text[i] <= 'Z')))
            ++i;
        const std::string_view suffix = text.substr(start, i - start);
        std::size_t u = next_unit;
        while (u < kUnits.size() && kUnits[u].suffix != suffix) ++u;
        if (u == kUnits.size()) return std::nullopt;  // no unit, unknown unit, or out of order
        if (n > kMax / kUnits[u].ms) return std::nullopt;
        const int64_t part = n * kUnits[u].ms;
        if (total > kMax - part) return std::nullopt;
        total += part;
        next_unit = u + 1;
    }
    return total;
}

// The shortest exact text parse_duration_ms reads back: 90000 -> "1m30s", 250 -> "250ms",
// 0 -> "0s" (a negative value gets a leading "-", which the parser refuses).
inline std::string format_duration_ms(int64_t ms) {
    if (ms == 0) return "0s";
    std::string out;
    uint64_t rest;
    if (ms < 0) {
        out = "-";
        rest = static_cast<uint64_t>(-(ms + 1)) + 1;  // no overflow for INT64_MIN
    } else {
        rest = static_cast<uint64_t>(ms);
    }
    for (const duration_detail::Unit& u : duration_detail::kUnits) {
        const auto unit = static_cast<uint64_t>(u.ms);
        if (rest >= unit) {
            out += std::to_string(rest / unit);
            out += u.suffix;
            rest %= unit;
        }
    }
    return out;
}

}  // namespace sdk
}  // namespace iotgw
