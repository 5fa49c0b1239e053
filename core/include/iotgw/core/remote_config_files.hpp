// The files of a configuration applied by a remote job, next to each other in the state
// directory (the service cannot write /etc/iotgw):
//   <file>            the configuration that runs instead of the packaged one while it exists
//   <file>.previous   what ran before the last apply (absent: the packaged file did)
//   <file>.state      the last apply: job id, state, deadline, starts, SHA-256 of <file>, reason
// Every change is a durable atomic write or rename, ordered so that a power cut at any point
// leaves something that starts: the state is written before the new file, with the new file's
// digest, so a start that finds a pending state whose digest does not match knows the file was
// never fully written and rolls back.
#pragma once

#include <iotgw/core/config_control.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace iotgw::core {

struct TrialRecord {
    std::string job_id;
    TrialState state = TrialState::none;
    int64_t deadline_unix = 0;  // pending: rolled back at this time unless confirmed
    int starts = 0;             // gateway starts while pending
    bool had_previous = false;  // <file>.previous holds what ran before (else the packaged file)
    std::string sha256;         // of the applied text (hex)
    std::string reason;         // rolled_back: why
};

class RemoteConfigFiles {
public:
    explicit RemoteConfigFiles(std::filesystem::path file);

    const std::filesystem::path& file() const noexcept { return file_; }
    // Whether a remote configuration is in place (it runs instead of the packaged one).
    bool active() const;

    // The last apply; nullopt when there was none. Throws std::runtime_error when the state file
    // is unreadable or damaged (the message names it and says what is wrong).
    std::optional<TrialRecord> record() const;

    // Keeps what runs now as the previous, then writes `toml` on trial for `job_id` until
    // `deadline_unix`. Throws std::runtime_error (with the path) when a write fails; what was
    // in place before is then still in place.
    void apply(const std::string& job_id, std::string_view toml, int64_t deadline_unix);

    // Pending -> confirmed.
    void confirm();

    // Brings back the previous configuration (or none, so the packaged one runs) and records
    // the reason. Only for a pending trial.
    void roll_back(const std::string& reason);

    // A start with a pending trial: counts it. Returns the count.
    int count_start();

    // Whether <file> holds what the pending record says was applied.
    bool file_matches(const TrialRecord& r) const;

private:
    void write_record(const TrialRecord& r) const;
    std::filesystem::path previous() const { return std::filesystem::path(file_) += ".previous"; }
    std::filesystem::path state() const { return std::filesystem::path(file_) += ".state"; }

    std::filesystem::path file_;
};

}  // namespace iotgw::core
