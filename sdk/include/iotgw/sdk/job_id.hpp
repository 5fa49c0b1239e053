// AWS IoT job ids: 1-64 of [a-zA-Z0-9_-]. A job id ends up in file names (a handler's download,
// the update helper's request), so the jobs processor and the update helper take no other.
#pragma once

#include <string_view>

namespace iotgw::sdk {

inline bool is_job_id(std::string_view id) noexcept {
    if (id.empty() || id.size() > 64) return false;
    for (const char c : id)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-'))
            return false;
    return true;
}

}  // namespace iotgw::sdk
