// Shared pieces of the `localcore` admin command.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "registry.hpp"

namespace localcore::cli {

// Bad command line: exit status 2 (other failures are localcore::Error, exit status 1).
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Args {
    std::string command;
    std::optional<std::filesystem::path> data_dir;
    std::vector<std::string> positional;
    std::map<std::string, std::string> options;  // "--name" -> value ("yes" for a flag such as --replace)

    std::optional<std::string> option(const std::string& name) const;
    std::string option_or(const std::string& name, const std::string& fallback) const;
    std::string required_option(const std::string& name) const;
    // Throws UsageError unless there are exactly `count` positional arguments.
    void expect_positional(std::size_t count, const std::string& usage) const;
    // Throws UsageError for options outside `allowed`.
    void allow_options(const std::set<std::string>& allowed) const;
    std::filesystem::path data() const;  // throws UsageError when no data directory was given
};

// Every command prints its result on stdout and throws on failure.
void cmd_init(const Args& args);
void cmd_create_thing(const Args& args);
void cmd_issue_cert(const Args& args);
void cmd_issue_claim_cert(const Args& args);
void cmd_issue_batch(const Args& args);  // cmd_issue_batch.cpp
void cmd_lock_thing(const Args& args);
void cmd_unlock_thing(const Args& args);
void cmd_put_policy(const Args& args);
void cmd_attach_policy(const Args& args);
void cmd_set_cert_status(const Args& args);
void cmd_list(const Args& args);
void cmd_describe(const Args& args);
void cmd_mosquitto_conf(const Args& args);
void cmd_issue_console_token(const Args& args);
void cmd_revoke_console_token(const Args& args);
void cmd_revoked_console_tokens(const Args& args);
void cmd_create_job(const Args& args);    // cmd_jobs.cpp
void cmd_describe_job(const Args& args);  // cmd_jobs.cpp
void cmd_cancel_job(const Args& args);    // cmd_jobs.cpp

// issue-claim-cert --thing NAME (cmd_claim_cert.cpp); cmd_issue_claim_cert checks the mode first.
void issue_device_claim_cert(const Args& args, CertStatus status);

std::string format_time(long long epoch_seconds);  // ISO 8601 UTC

}  // namespace localcore::cli
