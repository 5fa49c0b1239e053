#include "plugin_test_support.hpp"

#include "test_support.hpp"

namespace iotgw::test {
namespace {

std::vector<std::string>& recorded() {
    static std::vector<std::string> lines;
    return lines;
}

void record_log(iotgw_host_instance*, int level, const char* message) {
    recorded().push_back("<" + std::to_string(level) + ">" + (message != nullptr ? message : "(null)"));
}

int log_enabled(iotgw_host_instance*, int) { return 1; }

}  // namespace

RecordingHost::RecordingHost() {
    recorded().clear();
    api_.size = sizeof(api_);
    api_.abi_version = IOTGW_ABI_VERSION;
    api_.log = &record_log;
    api_.log_enabled = &log_enabled;
}

RecordingHost::~RecordingHost() { recorded().clear(); }

const std::vector<std::string>& RecordingHost::lines() const noexcept { return recorded(); }

std::filesystem::path fixture_case_dir(const std::string& fixture_case) {
    return fixture_plugin_dir() / fixture_case;
}

std::filesystem::path fixture_library(const std::string& fixture_case, const std::string& library) {
    return fixture_case_dir(fixture_case) / ("libiotgw-" + library + ".so");
}

}  // namespace iotgw::test
