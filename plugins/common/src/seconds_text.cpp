#include <iotgw/plugins/common/seconds_text.hpp>

#include <cstdio>

namespace iotgw::plugins::common {

std::string seconds_text(std::chrono::milliseconds d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(d.count()) / 1000.0);
    return buf;
}

}  // namespace iotgw::plugins::common
