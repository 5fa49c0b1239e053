#include "helper_state.hpp"

namespace iotgw::plugins::package {

Verdict judge(const std::optional<core::update::InstallRecord>& record, const std::string& job,
              const std::string& running_version) {
    if (!record || record->job != job)
        return {Next::wait, {}, "the update helper has not taken the request yet"};
    const auto& r = *record;
    if (r.state == "installing") return {Next::wait, {}, "version " + r.version + " is being installed"};
    if (r.state == "installed") {
        if (running_version == r.version) return {Next::confirm, {}, "version " + r.version + " runs"};
        // dpkg restarts the service: the old process sees this state until it is stopped.
        return {Next::wait,
                {},
                "version " + r.version + " is installed; this process is still " + running_version};
    }
    if (r.state == "succeeded") return {Next::succeed, {}, "version " + r.version + " is kept"};
    if (r.state == "failed") return {Next::fail, "install_failed", r.reason};
    if (r.state == "rolled_back") return {Next::fail, "rolled_back", r.reason};
    if (r.state == "not_confirmed") return {Next::fail, "not_confirmed", r.reason};
    if (r.state == "downgrade_refused") return {Next::fail, "downgrade_refused", r.reason};
    return {Next::fail, "helper_state_unknown",
            "the update helper's record has the unknown state \"" + r.state + "\""};
}

uint64_t space_needed(uint64_t package_bytes) {
    constexpr uint64_t kMargin = 64ull * 1024 * 1024;
    return package_bytes * 5 + kMargin;
}

}  // namespace iotgw::plugins::package
