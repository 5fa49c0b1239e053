#include "remote_config_control.hpp"

#include <iotgw/core/gateway.hpp>

#include <chrono>
#include <ctime>
#include <system_error>

namespace iotgw::cli {
namespace {

int64_t unix_now() { return static_cast<int64_t>(std::time(nullptr)); }

}  // namespace

RemoteConfigControl::RemoteConfigControl(RunState& st, core::PluginRegistry& registry,
                                         std::filesystem::path file, std::function<void()> request_reload)
    : st_(st),
      registry_(registry),
      files_(std::move(file)),
      request_reload_(std::move(request_reload)),
      timer_(st.io) {}

std::optional<core::TrialRecord> RemoteConfigControl::record_logged() {
    try {
        return files_.record();
    } catch (const std::exception& e) {
        st_.log.error("iotgw", std::string("remote configuration: ") + e.what() +
                                   "; its trial state is unknown, so nothing is rolled back automatically");
        return std::nullopt;
    }
}

void RemoteConfigControl::roll_back(const std::string& reason) {
    files_.roll_back(reason);
    st_.log.error("iotgw", "remote configuration rolled back: " + reason + "; now running " +
                               (files_.active() ? files_.file().string() + " (the previous one)"
                                                : st_.packaged_file.string()));
}

std::filesystem::path RemoteConfigControl::prepare_start() {
    if (auto r = record_logged(); r && r->state == core::TrialState::pending) {
        try {
            if (!files_.file_matches(*r)) {
                roll_back("the gateway stopped before job " + r->job_id +
                          "'s configuration was fully written");
            } else if (const int starts = files_.count_start(); starts > kMaxTrialStarts) {
                roll_back("the gateway started " + std::to_string(starts) + " times with job " + r->job_id +
                          "'s configuration without confirming it");
            } else if (unix_now() >= r->deadline_unix) {
                roll_back("job " + r->job_id + "'s configuration was not confirmed before its trial ended");
            }
        } catch (const std::exception& e) {
            st_.log.error("iotgw", std::string("remote configuration: ") + e.what());
        }
    }
    return effective_file();
}

std::filesystem::path RemoteConfigControl::effective_file() {
    if (skip_remote_ || !files_.active()) return st_.packaged_file;
    std::error_code ec1;
    std::error_code ec2;
    const auto remote_time = std::filesystem::last_write_time(files_.file(), ec1);
    const auto packaged_time = std::filesystem::last_write_time(st_.packaged_file, ec2);
    if (!ec1 && !ec2 && packaged_time > remote_time)
        st_.log.warning("iotgw",
                        st_.packaged_file.string() + " changed after the configuration applied by a job (" +
                            files_.file().string() + "), which still runs; remove that file to run " +
                            st_.packaged_file.string());
    return files_.file();
}

bool RemoteConfigControl::recover_from(const std::string& why) {
    if (skip_remote_ || !files_.active()) return false;
    if (auto r = record_logged(); r && r->state == core::TrialState::pending) {
        try {
            roll_back("job " + r->job_id + "'s configuration " + why);
            return true;
        } catch (const std::exception& e) {
            st_.log.error("iotgw", std::string("remote configuration: the rollback failed: ") + e.what());
        }
    }
    skip_remote_ = true;
    st_.log.error("iotgw", "the configuration applied by a job (" + files_.file().string() + ") " + why +
                               "; running the packaged " + st_.packaged_file.string() + " instead");
    return true;
}

void RemoteConfigControl::arm_trial_timer() {
    timer_.cancel();
    const auto r = record_logged();
    if (!r || r->state != core::TrialState::pending || skip_remote_) return;
    const int64_t left = std::max<int64_t>(0, r->deadline_unix - unix_now());
    st_.log.notice("iotgw", "job " + r->job_id + "'s configuration runs on trial: rolled back in " +
                                std::to_string(left) + " s unless confirmed");
    timer_.expires_after(std::chrono::seconds(left));
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) on_deadline();
    });
}

void RemoteConfigControl::on_deadline() {
    const auto r = record_logged();
    if (!r || r->state != core::TrialState::pending) return;
    if (unix_now() < r->deadline_unix) {  // the clock was set back: wait for the rest
        arm_trial_timer();
        return;
    }
    try {
        roll_back(
            "job " + r->job_id +
            "'s configuration was not confirmed before its trial ended (no connection to the cloud, or no "
            "job handler to confirm it)");
    } catch (const std::exception& e) {
        st_.log.error("iotgw", std::string("remote configuration: the rollback failed: ") + e.what());
        return;
    }
    request_reload_();
}

std::vector<std::string> RemoteConfigControl::check(std::string_view toml) {
    core::Diagnostics diags;
    // Loaded as the remote file: relative paths resolve where it will be.
    auto config = core::load_config_text(toml, files_.file(), registry_, diags, load_options(st_.options));
    if (config) {
        // The plugins' own checks, as `iotgw check` runs them, on a loop of their own.
        boost::asio::io_context io;
        core::Logger quiet;
        quiet.set_level(IOTGW_LOG_ERROR);
        std::string error;
        if (!core::Gateway::dry_run(io, quiet, *config, error))
            diags.error(core::SourcePos{files_.file().string(), 0, 0}, error);
    }
    std::vector<std::string> problems;
    for (const auto& d : diags.items())
        if (d.severity == core::Severity::error) problems.push_back(d.str());
    return problems;
}

std::vector<std::string> RemoteConfigControl::apply(const std::string& job_id, std::string_view toml,
                                                    std::chrono::seconds trial) {
    auto problems = check(toml);
    if (!problems.empty()) return problems;
    try {
        files_.apply(job_id, toml, unix_now() + trial.count());
    } catch (const std::exception& e) {
        // The record may already say pending while the file is the old one: end that trial
        // now rather than at the next start, so the job's state is not left pending.
        try {
            if (auto r = files_.record(); r && r->job_id == job_id && r->state == core::TrialState::pending)
                roll_back("job " + job_id + "'s configuration could not be written: " + e.what());
        } catch (const std::exception& again) {
            st_.log.error("iotgw", std::string("remote configuration: ") + again.what());
        }
        throw;
    }
    skip_remote_ = false;
    st_.log.notice("iotgw", "job " + job_id + ": configuration written to " + files_.file().string() +
                                ", on trial for " + std::to_string(trial.count()) + " s; reloading");
    request_reload_();
    return {};
}

core::TrialState RemoteConfigControl::trial_state(const std::string& job_id, std::string& reason) {
    const auto r = files_.record();
    if (!r || r->job_id != job_id) return core::TrialState::none;
    reason = r->reason;
    return r->state;
}

bool RemoteConfigControl::confirm(const std::string& job_id, std::string& error) {
    const auto r = files_.record();
    if (!r || r->job_id != job_id) {
        error = "no configuration of job " + job_id + " is on trial";
        return false;
    }
    if (r->state != core::TrialState::pending) {
        error = "job " + job_id + "'s configuration is not on trial any more" +
                (r->reason.empty() ? std::string() : ": " + r->reason);
        return false;
    }
    files_.confirm();
    timer_.cancel();
    st_.log.notice("iotgw", "job " + job_id + "'s configuration confirmed: it stays");
    return true;
}

}  // namespace iotgw::cli
