// AWS IoT Jobs, the device's side (the Jobs MQTT API: get, start-next, <jobId>/get,
// <jobId>/update, notify, notify-next), as a pure engine: job executions of things, their states
// and versions, step timeouts, and the requests a device sends, with AWS's replies. No broker
// types, no clock and no I/O: the caller passes `now` (seconds since the epoch, as AWS's
// timestamps are) and stores what changed, so the same engine serves the broker plugin and tests.
//
// This is the first part of issue 19's localcore emulation (docs/aws-iot-core.md, "Jobs"): the
// state machine and the request and reply formats. The broker wiring (topics, persistence, the
// step-timeout timer, `localcore create-job`) builds on it.
//
// Behaviour follows AWS's developer guide (jobs-mqtt-api, jobs-workflow-jobs-online) and API
// reference (iot-jobs-data UpdateJobExecution, StartNextPendingJobExecution):
// - A device may set IN_PROGRESS, SUCCEEDED, FAILED or REJECTED; `status` is required on every
//   update. QUEUED may go to any of them; IN_PROGRESS to IN_PROGRESS (progress in statusDetails)
//   or a terminal state; a terminal state to nothing (InvalidStateTransition, with the state).
// - `expectedVersion` other than the stored version: VersionMismatch, with the state. Every
//   accepted update increments the version.
// - `statusDetails`: when given, it replaces the stored map; when absent, the map is unchanged.
//   Keys [a-zA-Z0-9:_-]{1,128}, values 1-1024 characters without control characters.
// - `stepTimeoutInMinutes` 1-10080: the execution must be updated again within it or it becomes
//   TIMED_OUT; each update may set a new one (and -1 clears it, as AWS documents). The job's own
//   in-progress timeout (1-10080 minutes, set when the job is created) runs from IN_PROGRESS to
//   the end and is not changed by updates.
// - start-next takes the thing's IN_PROGRESS execution if there is one, else its oldest QUEUED
//   one, and moves a QUEUED one to IN_PROGRESS; with none pending, the reply has no `execution`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace localcore::jobs {

enum class Status { queued, in_progress, succeeded, failed, timed_out, rejected, removed, canceled };

std::string_view to_string(Status s);
std::optional<Status> parse_status(std::string_view text);
// SUCCEEDED, FAILED, TIMED_OUT, REJECTED, REMOVED, CANCELED: nothing changes it any more.
bool is_terminal(Status s);

using StatusDetails = std::map<std::string, std::string>;

struct Execution {
    std::string job_id;
    std::string thing;
    std::string document;  // the job document, JSON text as created
    Status status = Status::queued;
    StatusDetails status_details;
    std::int64_t queued_at = 0;
    std::optional<std::int64_t> started_at;
    std::int64_t last_updated_at = 0;
    std::int64_t version = 1;
    std::int64_t execution_number = 1;
    // When the current step ends (TIMED_OUT then); none without a step timeout.
    std::optional<std::int64_t> step_deadline;
    // The job's in-progress timeout (AWS: timeoutConfig.inProgressTimeoutInMinutes): the whole
    // execution must end within it once IN_PROGRESS, whatever its steps do.
    std::optional<std::int64_t> in_progress_timeout_minutes;
    std::optional<std::int64_t> in_progress_deadline;
};

struct Rejection {
    std::string code;  // AWS's ErrorCode: InvalidJson, InvalidRequest, InvalidStateTransition, ...
    std::string message;
    bool include_state = false;  // InvalidStateTransition and VersionMismatch carry executionState
};

struct UpdateRequest {
    Status status = Status::in_progress;
    std::optional<StatusDetails> status_details;
    std::optional<std::int64_t> expected_version;
    std::optional<std::int64_t> execution_number;
    bool include_job_execution_state = false;
    bool include_job_document = false;
    std::optional<std::int64_t> step_timeout_minutes;  // -1 clears the step timeout
    std::string client_token;
};

struct StartNextRequest {
    std::optional<StatusDetails> status_details;
    std::optional<std::int64_t> step_timeout_minutes;
    std::string client_token;
};

// <jobId>/get: which execution, and whether the reply carries the job document (default yes).
struct DescribeRequest {
    std::optional<std::int64_t> execution_number;
    bool include_job_document = true;
    std::string client_token;
};

// get: the thing's pending executions; only a clientToken.
struct PendingRequest {
    std::string client_token;
};

struct Limits {
    std::size_t max_request_bytes = 128 * 1024;
    std::size_t max_client_token_bytes = 64;
    std::size_t max_detail_key_bytes = 128;
    std::size_t max_detail_value_chars = 1024;
    std::int64_t max_step_timeout_minutes = 10080;  // 7 days
};

// A request's payload parsed and checked; InvalidJson or InvalidRequest naming the field.
std::variant<UpdateRequest, Rejection> parse_update_request(std::string_view payload,
                                                            const Limits& limits = {});
std::variant<StartNextRequest, Rejection> parse_start_next_request(std::string_view payload,
                                                                   const Limits& limits = {});
std::variant<DescribeRequest, Rejection> parse_describe_request(std::string_view payload,
                                                                const Limits& limits = {});
std::variant<PendingRequest, Rejection> parse_pending_request(std::string_view payload,
                                                              const Limits& limits = {});
// The clientToken of any request, for the rejection of one that failed to parse ("" if none).
std::string client_token_of(std::string_view payload);

// Applies an update from the device at `now`; nullopt when accepted (`e` changed).
std::optional<Rejection> apply_update(Execution& e, const UpdateRequest& r, std::int64_t now);

// The execution start-next takes among `executions` (all of one thing): its IN_PROGRESS one,
// else its oldest QUEUED one (by queued_at, then job id); nullptr when none is pending.
Execution* next_pending(std::vector<Execution>& executions);
const Execution* next_pending(const std::vector<Execution>& executions);

// Moves a QUEUED execution to IN_PROGRESS with the request's details and step timeout
// (start-next). An IN_PROGRESS one is handed back unchanged: AWS documents start-next as returning
// the pending execution, and a device resuming after a restart then continues it with updates
// (our reading; AWS does not say whether the request's details apply to it).
void start(Execution& e, const StartNextRequest& r, std::int64_t now);

// TIMED_OUT when its step deadline or its in-progress deadline has passed; true when it changed.
bool expire_timeouts(Execution& e, std::int64_t now);
// The earliest deadline of a pending execution, for the caller's timer; none without one.
std::optional<std::int64_t> next_deadline(const Execution& e);

// Replies, as AWS writes them.
std::string execution_json(const Execution& e, bool include_job_document);
std::string update_accepted_json(const Execution& e, const UpdateRequest& r, std::int64_t now);
std::string start_next_accepted_json(const Execution* e, const std::string& client_token, std::int64_t now);
std::string rejected_json(const Rejection& r, const Execution* e, const std::string& client_token,
                          std::int64_t now);
// get/accepted: the thing's pending executions as summaries, IN_PROGRESS and QUEUED apart.
std::string pending_json(const std::vector<Execution>& executions, const std::string& client_token,
                         std::int64_t now);
// <jobId>/get/accepted: the execution, with its document unless the request said otherwise.
std::string describe_accepted_json(const Execution& e, bool include_job_document,
                                   const std::string& client_token, std::int64_t now);
// notify: the thing's pending executions by state; notify-next: the next one (or none).
std::string notify_json(const std::vector<Execution>& executions, std::int64_t now);
std::string notify_next_json(const Execution* next, std::int64_t now);

}  // namespace localcore::jobs
