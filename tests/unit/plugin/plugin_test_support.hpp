// What the plugin-loading tests share: a host-API table that records what plugins log, and the
// paths of the fixture libraries.
#pragma once

#include <iotgw/plugin_abi.h>

#include <filesystem>
#include <string>
#include <vector>

namespace iotgw::test {

// A host table with only `log` filled in: entry points may log, nothing else is called while
// loading. One at a time (the log is global because the C callback carries no user pointer).
class RecordingHost {
public:
    RecordingHost();
    ~RecordingHost();
    RecordingHost(const RecordingHost&) = delete;
    RecordingHost& operator=(const RecordingHost&) = delete;

    const iotgw_host_api* api() const noexcept { return &api_; }
    const std::vector<std::string>& lines() const noexcept;

private:
    iotgw_host_api api_{};
};

// <fixture dir>/<fixture case>/libiotgw-<library>.so
std::filesystem::path fixture_library(const std::string& fixture_case, const std::string& library);
std::filesystem::path fixture_case_dir(const std::string& fixture_case);

}  // namespace iotgw::test
