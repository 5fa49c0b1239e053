// Times as localcore prints them (CLI listings, error messages): ISO 8601 in UTC.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>

namespace localcore {

// "2027-11-28T09:00:00Z".
inline std::string utc_iso8601(std::int64_t epoch_seconds) {
    const std::time_t t = static_cast<std::time_t>(epoch_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

}  // namespace localcore
