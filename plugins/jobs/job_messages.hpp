// The AWS IoT Jobs device MQTT API as the `jobs` processor speaks it (docs/aws-iot-core.md,
// section 10): which reply a message on a jobs topic is, what it says, and the requests the
// processor sends. Pure functions, so every malformed form is tested without a broker.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace iotgw::plugins::jobs {

// "$aws/things/<thing>/jobs/" and the topics under it.
class JobTopics {
public:
    explicit JobTopics(const std::string& thing) : base_("$aws/things/" + thing + "/jobs/") {}
    const std::string& base() const noexcept { return base_; }
    std::string start_next() const { return base_ + "start-next"; }
    std::string update(const std::string& job_id) const { return base_ + job_id + "/update"; }
    std::string get(const std::string& job_id) const { return base_ + job_id + "/get"; }
    std::string notify_next() const { return base_ + "notify-next"; }

private:
    std::string base_;
};

// One job execution as the service describes it.
struct ExecutionInfo {
    std::string job_id;
    std::string status;    // "QUEUED", "IN_PROGRESS", ...
    std::string document;  // jobDocument as JSON text; empty when the reply carries none
    int64_t version = 0;
    int64_t execution_number = 0;
};

enum class ReplyKind {
    notify_next,           // the next pending execution changed (execution: it, or none)
    start_next_accepted,   // execution: the one now IN_PROGRESS, or none pending
    update_accepted,       // job_id: the execution updated; state_*: its new state
    get_accepted,          // execution: as stored
    rejected,              // of start-next, update or get: code, message, state
};

struct Reply {
    ReplyKind kind = ReplyKind::rejected;
    std::string request;  // "start-next", "update" or "get" (for replies)
    std::string job_id;   // from the topic, for update and get replies
    std::optional<ExecutionInfo> execution;
    std::string client_token;
    // A rejection: AWS's code ("VersionMismatch", "InvalidStateTransition", ...) and message, and
    // the execution's state when the service sent it.
    std::string code;
    std::string message;
    std::optional<std::string> state_status;
    std::optional<int64_t> state_version;
};

// The reply or notification `topic` carries, or nullopt for a topic that is not one the
// processor listens to (e.g. `notify`, another thing's). Throws sdk::Error naming the topic and
// the field for a payload that is not what the service sends.
std::optional<Reply> parse_reply(const JobTopics& topics, std::string_view topic, std::string_view payload);

// {"clientToken":"...","stepTimeoutInMinutes":N}
std::string start_next_request(const std::string& client_token, int64_t step_timeout_minutes);

// {"status":"...","statusDetails":{...},"expectedVersion":N,"stepTimeoutInMinutes":N,
//  "includeJobExecutionState":true,"clientToken":"..."};
// `details_json` is a flat JSON object of strings (status_details() makes one).
std::string update_request(const std::string& status, const std::string& details_json, int64_t expected_version,
                           std::optional<int64_t> step_timeout_minutes, const std::string& client_token);

// {"clientToken":"..."} for <jobId>/get.
std::string get_request(const std::string& client_token);

// Why a document is refused before any handler sees it (the execution ends REJECTED).
struct DocumentProblem {
    std::string reason;   // "invalid_document", "document_too_large", ...
    std::string message;  // one sentence
};

// The operation a job document names: a JSON object of at most `max_bytes` with a string
// "operation" of 1-64 characters [a-z0-9_-].
std::variant<std::string, DocumentProblem> operation_of(std::string_view document, std::size_t max_bytes);

// statusDetails for an update: the handler's details (a JSON object of strings; anything else in
// it is dropped) with "reason" and "message" when given, every key and value cut to AWS's limits
// (keys 1-128 characters of [a-zA-Z0-9:_-], values 1-1024 characters without control characters).
std::string status_details(std::string_view handler_details, const std::string& reason, const std::string& message);

}  // namespace iotgw::plugins::jobs
