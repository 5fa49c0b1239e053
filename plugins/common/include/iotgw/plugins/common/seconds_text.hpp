// Delays in log lines, as operators read them: "2.5s" (one decimal, whatever the delay's unit).
#pragma once

#include <chrono>
#include <string>

namespace iotgw::plugins::common {

std::string seconds_text(std::chrono::milliseconds d);

}  // namespace iotgw::plugins::common
