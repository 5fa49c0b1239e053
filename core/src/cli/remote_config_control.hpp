// `iotgw run --remote-config FILE`: the configuration a `config` job applies runs from FILE (in
// the state directory; the service cannot write /etc/iotgw) instead of the packaged --config,
// on trial until the job's handler confirms it. This class is the ConfigControl the host API
// hands to that handler, and decides at every start and reload which file runs:
// - a trial that is overdue, that the gateway restarted with more than kMaxTrialStarts times, or
//   whose file was never fully written is rolled back before anything loads;
// - a trial whose file does not load or start is rolled back at once;
// - a trial not confirmed by its deadline is rolled back by a timer, and the gateway reloads;
// - a confirmed remote configuration that no longer loads (e.g. a plugin it names was removed
//   by an update) is skipped for the packaged one, loudly.
#pragma once

#include "run_state.hpp"

#include <iotgw/core/config_control.hpp>
#include <iotgw/core/plugin_registry.hpp>
#include <iotgw/core/remote_config_files.hpp>

#include <boost/asio/steady_timer.hpp>

#include <filesystem>
#include <functional>
#include <string>

namespace iotgw::cli {

// Starts with a trial pending before it is rolled back: a configuration that crashes the gateway
// gets this many chances (the unit's StartLimitBurst is 5, so systemd is still restarting it).
inline constexpr int kMaxTrialStarts = 3;

class RemoteConfigControl final : public core::ConfigControl {
public:
    RemoteConfigControl(RunState& st, core::PluginRegistry& registry, std::filesystem::path file,
                        std::function<void()> request_reload);

    // Before the first load: rolls back a trial that must not run again; the file to run.
    std::filesystem::path prepare_start();
    // The file to run at a reload: the remote one while it is in place, else the packaged one.
    std::filesystem::path effective_file();
    // The remote file failed to load or start (`why`). On trial: rolled back, true (load again).
    // Confirmed: it is set aside for this run only, true (the packaged file runs). Else false.
    bool recover_from(const std::string& why);
    // After a start or reload: a pending trial's deadline timer.
    void arm_trial_timer();

    std::vector<std::string> check(std::string_view toml) override;
    std::vector<std::string> apply(const std::string& job_id, std::string_view toml,
                                   std::chrono::seconds trial) override;
    core::TrialState trial_state(const std::string& job_id, std::string& reason) override;
    bool confirm(const std::string& job_id, std::string& error) override;

private:
    std::optional<core::TrialRecord> record_logged();
    void roll_back(const std::string& reason);
    void on_deadline();

    RunState& st_;
    core::PluginRegistry& registry_;
    core::RemoteConfigFiles files_;
    std::function<void()> request_reload_;
    boost::asio::steady_timer timer_;
    bool skip_remote_ = false;  // a confirmed remote file that did not load: the packaged one runs
};

}  // namespace iotgw::cli
