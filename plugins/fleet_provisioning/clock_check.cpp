#include "clock_check.hpp"

#ifndef IOTGW_BUILD_EPOCH
#error "IOTGW_BUILD_EPOCH must be defined by the build (plugins/fleet_provisioning/CMakeLists.txt)"
#endif

namespace iotgw::plugins::fleet_provisioning {

int64_t build_time_unix() { return static_cast<int64_t>(IOTGW_BUILD_EPOCH); }

}  // namespace iotgw::plugins::fleet_provisioning
