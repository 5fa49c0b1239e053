// What a running gateway lets its plugins do with its own configuration: check a TOML text as
// `iotgw check` does, apply one on trial (it must be confirmed in time or it is rolled back), and
// confirm it. The `config` job handler drives it through the host API (ABI 1.3); `iotgw run`
// provides it when started with --remote-config, and without one the host answers "unsupported".
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace iotgw::core {

// Where the configuration applied by a job stands. The states belong to one job id: a trial of
// another job is `none` for this one.
enum class TrialState : uint32_t {
    none = 0,        // nothing applied for this job (or it was never written)
    pending = 1,     // applied and running; rolled back unless confirmed before its deadline
    confirmed = 2,   // applied and confirmed
    rolled_back = 3  // applied, then restored to the previous configuration (the reason says why)
};

class ConfigControl {
public:
    virtual ~ConfigControl() = default;

    // Loads `toml` as the remote config file would be loaded, with every plugin's own checks.
    // Returns the problems as "file:line:column: message" lines; empty when it is valid.
    virtual std::vector<std::string> check(std::string_view toml) = 0;

    // Checks `toml`, writes it as the remote configuration on trial for job `job_id` (the one
    // running now kept as the previous) and reloads the gateway with it, after the caller
    // returns. Rolled back unless confirm(job_id) is called within `trial`. Returns the
    // problems, empty when it was applied; throws std::runtime_error when it cannot be written.
    virtual std::vector<std::string> apply(const std::string& job_id, std::string_view toml,
                                           std::chrono::seconds trial) = 0;

    // Where job `job_id`'s configuration stands; `reason` is set for a rollback.
    virtual TrialState trial_state(const std::string& job_id, std::string& reason) = 0;

    // Ends the trial of job `job_id`: the configuration stays. False with `error` when it is
    // not pending (rolled back meanwhile, or another job's).
    virtual bool confirm(const std::string& job_id, std::string& error) = 0;
};

}  // namespace iotgw::core
