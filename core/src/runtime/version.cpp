#include <iotgw/core/version.hpp>

namespace iotgw::core {

const char* gateway_version() noexcept { return IOTGW_VERSION; }

}  // namespace iotgw::core
