// The one execution the `jobs` processor is working on, kept on disk so that a restart or a power
// loss in the middle of a job (an update restarts the gateway on purpose) neither forgets it nor
// runs it twice: written atomically before the handler starts and at each step it reports, and
// removed only once the cloud accepted the execution's final update.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace iotgw::plugins::jobs {

struct JournalEntry {
    std::string job_id;
    int64_t execution_number = 0;
    int64_t version = 0;  // the execution's version the next update names as expectedVersion
    std::string operation;
    std::string handler;       // the job handler instance running it
    std::string document;      // the job document (JSON), handed to the handler again on resume
    std::string resume_state;  // JSON the handler last reported, or empty
    // Once the handler has ended: the final update still to be accepted by the cloud.
    std::optional<std::string> final_status;  // "SUCCEEDED", "FAILED" or "REJECTED"
    std::string final_details;                // its statusDetails (JSON object)
};

class JobJournal {
public:
    explicit JobJournal(std::string path) : path_(std::move(path)) {}
    const std::string& path() const noexcept { return path_; }

    // The entry, or nullopt when there is none. A file that cannot be read as an entry throws
    // sdk::Error naming the file and what is wrong; the caller moves it aside (set_aside).
    std::optional<JournalEntry> load() const;
    // Replaces the entry atomically (mode 0600).
    void save(const JournalEntry& entry) const;
    // Removes it durably; no entry is no error.
    void clear() const;
    // Renames a damaged file to "<path>.damaged" (replacing an older one) so it can be read later.
    void set_aside() const;

private:
    std::string path_;
};

}  // namespace iotgw::plugins::jobs
