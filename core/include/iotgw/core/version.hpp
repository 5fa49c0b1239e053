// The version this gateway reports: `iotgw --version`, plugins through the host API (the
// health job, the package job's check that the new version runs) and refusal messages. The
// package build sets it to the package's version (IOTGW_VERSION_STRING, debian/rules).
#pragma once

namespace iotgw::core {

const char* gateway_version() noexcept;

}  // namespace iotgw::core
