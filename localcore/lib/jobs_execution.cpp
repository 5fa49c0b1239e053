// The job execution state machine: updates, start-next, step timeouts (jobs.hpp says whose rules).
#include "jobs.hpp"

#include <algorithm>
#include <tuple>

namespace localcore::jobs {
namespace {

constexpr std::int64_t kSecondsPerMinute = 60;

Rejection rejection(std::string code, std::string message, bool include_state = false) {
    return Rejection{std::move(code), std::move(message), include_state};
}

// Whether a device may move an execution from `from` to `to`.
bool allowed(Status from, Status to) {
    if (is_terminal(from)) return false;
    switch (to) {
        case Status::in_progress:
        case Status::succeeded:
        case Status::failed:
        case Status::rejected:
            return from == Status::queued || from == Status::in_progress;
        default:
            return false;  // QUEUED, TIMED_OUT, REMOVED, CANCELED are the service's to set
    }
}

void begin_progress(Execution& e, std::int64_t now) {
    e.started_at = now;
    if (e.in_progress_timeout_minutes)
        e.in_progress_deadline = now + *e.in_progress_timeout_minutes * kSecondsPerMinute;
}

void set_step_timeout(Execution& e, const std::optional<std::int64_t>& minutes, std::int64_t now) {
    if (!minutes) return;
    if (*minutes < 0)
        e.step_deadline.reset();
    else
        e.step_deadline = now + *minutes * kSecondsPerMinute;
}

}  // namespace

std::string_view to_string(Status s) {
    switch (s) {
        case Status::queued:
            return "QUEUED";
        case Status::in_progress:
            return "IN_PROGRESS";
        case Status::succeeded:
            return "SUCCEEDED";
        case Status::failed:
            return "FAILED";
        case Status::timed_out:
            return "TIMED_OUT";
        case Status::rejected:
            return "REJECTED";
        case Status::removed:
            return "REMOVED";
        case Status::canceled:
            return "CANCELED";
    }
    return "QUEUED";
}

std::optional<Status> parse_status(std::string_view text) {
    for (Status s : {Status::queued, Status::in_progress, Status::succeeded, Status::failed,
                     Status::timed_out, Status::rejected, Status::removed, Status::canceled})
        if (to_string(s) == text) return s;
    return std::nullopt;
}

bool is_terminal(Status s) { return s != Status::queued && s != Status::in_progress; }

std::optional<Rejection> apply_update(Execution& e, const UpdateRequest& r, std::int64_t now) {
    if (r.execution_number && *r.execution_number != e.execution_number)
        return rejection("ResourceNotFound", "No job execution " + e.job_id + " with executionNumber " +
                                                 std::to_string(*r.execution_number) + " for thing " +
                                                 e.thing);
    if (r.expected_version && *r.expected_version != e.version)
        return rejection("VersionMismatch",
                         "expectedVersion " + std::to_string(*r.expected_version) +
                             " does not match the job execution's version " + std::to_string(e.version),
                         true);
    if (!allowed(e.status, r.status))
        return rejection("InvalidStateTransition",
                         "Cannot update the job execution of " + e.job_id + " from " +
                             std::string(to_string(e.status)) + " to " + std::string(to_string(r.status)),
                         true);
    if (e.status == Status::queued) begin_progress(e, now);
    e.status = r.status;
    if (r.status_details) e.status_details = *r.status_details;
    if (is_terminal(e.status)) {
        e.step_deadline.reset();
        e.in_progress_deadline.reset();
    } else
        set_step_timeout(e, r.step_timeout_minutes, now);
    e.last_updated_at = now;
    ++e.version;
    return std::nullopt;
}

namespace {

template <typename Executions, typename Pointer>
Pointer next_of(Executions& executions) {
    Pointer best = nullptr;
    for (auto& e : executions) {
        if (e.status == Status::in_progress) {
            if (!best || best->status != Status::in_progress ||
                std::tie(e.queued_at, e.job_id) < std::tie(best->queued_at, best->job_id))
                best = &e;
        } else if (e.status == Status::queued) {
            if (!best || (best->status == Status::queued &&
                          std::tie(e.queued_at, e.job_id) < std::tie(best->queued_at, best->job_id)))
                best = &e;
        }
    }
    return best;
}

}  // namespace

Execution* next_pending(std::vector<Execution>& executions) {
    return next_of<std::vector<Execution>, Execution*>(executions);
}

const Execution* next_pending(const std::vector<Execution>& executions) {
    return next_of<const std::vector<Execution>, const Execution*>(executions);
}

void start(Execution& e, const StartNextRequest& r, std::int64_t now) {
    if (e.status != Status::queued) return;  // an IN_PROGRESS one is handed back as it is
    e.status = Status::in_progress;
    begin_progress(e, now);
    e.last_updated_at = now;
    ++e.version;
    if (r.status_details) e.status_details = *r.status_details;
    set_step_timeout(e, r.step_timeout_minutes, now);
}

std::optional<std::int64_t> next_deadline(const Execution& e) {
    if (is_terminal(e.status)) return std::nullopt;
    if (e.step_deadline && e.in_progress_deadline) return std::min(*e.step_deadline, *e.in_progress_deadline);
    return e.step_deadline ? e.step_deadline : e.in_progress_deadline;
}

bool expire_timeouts(Execution& e, std::int64_t now) {
    const std::optional<std::int64_t> due = next_deadline(e);
    if (!due || now < *due) return false;
    e.status = Status::timed_out;
    e.step_deadline.reset();
    e.in_progress_deadline.reset();
    e.last_updated_at = now;
    ++e.version;
    return true;
}

}  // namespace localcore::jobs
