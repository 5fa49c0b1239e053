// Where localcore keeps job executions: one JSON file per thing under <data>/jobs/, replaced
// atomically and read fresh on every use, so the CLI (create-job, cancel-job) and the broker
// plugin (the device's requests, the timeout timer) share it the way they share the registry.
// Read-modify-write cycles hold the store's lock.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "atomic_file.hpp"
#include "jobs.hpp"

namespace localcore::jobs {

// AWS's limits on what a job is created with.
inline constexpr std::size_t kMaxJobDocumentBytes = 32 * 1024;
inline constexpr std::int64_t kMaxTimeoutMinutes = 10080;

// Job ids: [a-zA-Z0-9_-]{1,64}, as AWS's CreateJob takes them.
bool is_valid_job_id(std::string_view id);

class JobStore {
public:
    explicit JobStore(const std::filesystem::path& data_dir);

    // The thing's executions in the order they were created; none when it has no file. Throws
    // Error naming the file when it cannot be read or is not one of ours.
    std::vector<Execution> load(std::string_view thing) const;
    void save(std::string_view thing, const std::vector<Execution>& executions) const;
    // Every thing with a jobs file (the broker's timeout timer walks them).
    std::vector<std::string> things() const;
    // Serialises read-modify-write cycles between the CLI and the broker.
    FileLock lock() const;

    const std::filesystem::path& dir() const { return dir_; }

private:
    std::filesystem::path file(std::string_view thing) const;
    std::filesystem::path dir_;
};

// create-job: checks the thing name, the id (unique for the thing), the document (a JSON object of
// at most 32 KB) and the in-progress timeout (1-10080 minutes), then stores a QUEUED execution.
// Throws Error saying what was wrong.
Execution create_job(const JobStore& store, std::string_view thing, const std::string& job_id,
                     std::string_view document, std::optional<std::int64_t> timeout_minutes,
                     std::int64_t now);

// cancel-job: a QUEUED or IN_PROGRESS execution becomes CANCELED (a device's later update of it is
// refused). Throws Error for an unknown job or one that has already ended.
Execution cancel_job(const JobStore& store, std::string_view thing, std::string_view job_id,
                     std::int64_t now);

// describe-job: the execution, or Error when the thing has no such job.
Execution describe_job(const JobStore& store, std::string_view thing, std::string_view job_id);

}  // namespace localcore::jobs
