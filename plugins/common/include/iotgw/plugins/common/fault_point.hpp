// Crash-consistency test hook shared by the in-tree plugins. `fault_point("name")` kills the
// whole process with SIGKILL — no destructors, no buffered writes, exactly like a power cut as
// seen from the disk's page cache — when the environment variable IOTGW_FAULT_POINT equals
// "name". The tests run the real gateway once per point and then check that a restart ends with a
// working certificate and no stray files
// (plugins/fleet_provisioning/tests/localcore/crash_consistency_test.cpp). Unset in production,
// it costs one getenv per step of a provisioning or rotation, a few times a year.
#pragma once

namespace iotgw::plugins::common {

void fault_point(const char* name) noexcept;

}  // namespace iotgw::plugins::common
