// Remote jobs (ABI 1.3), both sides of iotgw_job_handler_api:
// - JobHandler: the base class of a plugin that carries out jobs of some operations
//   ("config", "package", ...); it gets a Job and a JobReport and reports progress and its end;
// - start_job(): how the plugin that takes executions from the cloud (plugins/jobs) hands one to
//   a handler instance by name, and hears back through callbacks it can detach at any time.
#pragma once

#include <iotgw/plugin_abi.h>
#include <iotgw/sdk/errors.hpp>
#include <iotgw/sdk/host.hpp>
#include <iotgw/sdk/host_api.hpp>
#include <iotgw/sdk/plugin.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

// Not "namespace iotgw::sdk": GCC rejects attributes on a nested namespace definition.
namespace iotgw {
namespace [[gnu::visibility("hidden")]] sdk {

struct Job {
    std::string id;
    std::string document;                     // the job document, a JSON object
    std::optional<std::string> resume_state;  // what the handler last reported, after a restart
};

enum class JobOutcome : uint32_t {
    succeeded = IOTGW_JOB_SUCCEEDED,
    failed = IOTGW_JOB_FAILED,
    rejected = IOTGW_JOB_REJECTED,
};

// AWS: each statusDetails value has at most 1024 characters; the handlers keep theirs below this.
// <iotgw/sdk/job_details.hpp> (component json: it needs RapidJSON) writes a details object.
inline constexpr std::size_t kMaxJobDetailChars = 1000;

// How an execution ended, as its handler said.
struct JobEnd {
    JobOutcome outcome = JobOutcome::failed;
    std::string reason;   // e.g. "invalid_config"; empty on success
    std::string message;  // one sentence for the operator; empty on success
    std::string details;  // a JSON object of string values, or empty
};

// The handler's side of one execution: call progress() any number of times, then exactly one of
// succeed(), fail() or reject(). Every call is delivered later on the loop (posted), so the
// requester never hears inside its own start call; once the handler instance has stopped, its
// end still reaches the requester, as a failure if it had not ended yet.
class JobReport {
public:
    JobReport(Host host, const iotgw_job_report& c) : state_(std::make_shared<State>(State{host, c, false})) {}

    // A step: `details` (a JSON object of string values) goes to the cloud; `resume_state` (JSON,
    // empty to keep the last one) is journalled, and given back with the job after a restart.
    void progress(std::string details, std::string resume_state = {}) const {
        if (state_->ended) return;
        post(Call{state_, false, 0, {}, {}, std::move(details), std::move(resume_state)});
    }
    void succeed(std::string details = {}) const { end(JobOutcome::succeeded, {}, {}, std::move(details)); }
    void fail(std::string reason, std::string message, std::string details = {}) const {
        end(JobOutcome::failed, std::move(reason), std::move(message), std::move(details));
    }
    // The document is not one this handler can carry out; nothing was changed.
    void reject(std::string reason, std::string message) const {
        end(JobOutcome::rejected, std::move(reason), std::move(message), {});
    }
    bool ended() const noexcept { return state_->ended; }

private:
    struct State {
        Host host;
        iotgw_job_report c;
        bool ended;
    };
    struct Call {
        std::shared_ptr<State> state;
        bool is_end;
        uint32_t outcome;
        std::string reason, message, details, resume_state;
    };

    void end(JobOutcome outcome, std::string reason, std::string message, std::string details) const {
        if (state_->ended) return;
        state_->ended = true;
        post(Call{state_, true, static_cast<uint32_t>(outcome), std::move(reason), std::move(message),
                  std::move(details), {}});
    }

    static const char* or_null(const std::string& s) noexcept { return s.empty() ? nullptr : s.c_str(); }

    static void deliver(Call& call, bool cancelled) noexcept {
        const iotgw_job_report& c = call.state->c;
        if (!call.is_end) {
            if (!cancelled) c.progress(c.user, or_null(call.details), or_null(call.resume_state));
            return;
        }
        if (cancelled)
            c.done(c.user, IOTGW_JOB_FAILED, "handler_stopped",
                   "the job handler stopped before it could report the end of this job", nullptr);
        else
            c.done(c.user, call.outcome, or_null(call.reason), or_null(call.message), or_null(call.details));
    }

    void post(Call call) const {
        auto* box = new Call(std::move(call));
        auto run = [](void* p, int cancelled) noexcept {
            std::unique_ptr<Call> b(static_cast<Call*>(p));
            deliver(*b, cancelled != 0);
        };
        if (detail::host_api().post(state_->host.get(), run, box) != IOTGW_OK) {
            std::unique_ptr<Call> b(box);
            deliver(*b, true);
        }
    }

    std::shared_ptr<State> state_;
};

// A plugin that carries out remote jobs. Derive from it, declare .abi_minor = 3, and override:
class JobHandler : public Plugin {
public:
    using Plugin::Plugin;
    static constexpr uint32_t kind = IOTGW_KIND_JOB_HANDLER;
    static constexpr bool accepts_messages = false;
    static constexpr bool has_endpoints = false;

    // The operations it carries out ("config", or several as "a|b"), and the longest it goes
    // without reporting progress or its end: the jobs plugin fails an execution that stays
    // silent longer, and the cloud's step timeout follows it.
    virtual std::string operations() const = 0;
    virtual std::chrono::milliseconds step_timeout() const = 0;

    // Begin (or, with job.resume_state, resume) an execution; one at a time. Throw to refuse it
    // at once (the report is then not used). Report through `report`, now or later.
    virtual void start_job(Job job, JobReport report) = 0;

    // The cloud ended the execution or the gateway stops: stop, undo what can be undone, and end
    // the report if it has not ended (its outcome is then only logged).
    virtual void cancel_job(const std::string& job_id) = 0;

    // The SDK keeps operations() here while the gateway holds the pointer it handed out.
    std::string sdk_operations_cache_;
};

// ---- the requester's side ----

// Whether this gateway has job handlers at all (ABI 1.3 or newer).
inline bool can_run_jobs() noexcept {
    return IOTGW_HOST_HAS(job_cancel) && detail::host_api().job_start != nullptr;
}

struct JobHandlerInfo {
    std::string operations;  // '|'-separated
    std::chrono::milliseconds step_timeout{0};
};

inline JobHandlerInfo describe_job_handler(const Host& host, const std::string& handler) {
    if (!can_run_jobs()) throw Error("this gateway is older than ABI 1.3 and has no job handlers", IOTGW_ERR_UNSUPPORTED);
    const char* ops = nullptr;
    int64_t step_ms = 0;
    iotgw_error err{};
    if (int rc = detail::host_api().job_describe(host.get(), handler.c_str(), &ops, &step_ms, &err); rc != IOTGW_OK)
        throw Error("job handler '" + handler + "': " + err.message, rc);
    return JobHandlerInfo{ops != nullptr ? ops : "", std::chrono::milliseconds(step_ms)};
}

// Callbacks of one execution started with start_job(). They run on the loop; on_end exactly once
// unless the ticket was detached first.
struct JobCallbacks {
    std::function<void(const std::string& details, const std::string& resume_state)> on_progress;
    std::function<void(const JobEnd&)> on_end;
};

// Held by the requester while an execution runs: destroying or detaching it means the callbacks
// are never called again (e.g. the requester stops), while the handler may still end the job.
class JobTicket {
public:
    JobTicket() = default;
    JobTicket(JobTicket&&) noexcept = default;
    JobTicket& operator=(JobTicket&& o) noexcept {
        detach();
        box_ = std::move(o.box_);
        return *this;
    }
    JobTicket(const JobTicket&) = delete;
    JobTicket& operator=(const JobTicket&) = delete;
    ~JobTicket() { detach(); }

    void detach() noexcept {
        if (auto b = box_.lock()) b->callbacks = {};
        box_.reset();
    }
    bool active() const noexcept { return !box_.expired(); }

private:
    friend JobTicket start_job(const Host&, const std::string&, const Job&, JobCallbacks);
    struct Box {
        Host host;
        JobCallbacks callbacks;
        std::shared_ptr<Box> self;  // the handler's reference: dropped at the end
    };
    explicit JobTicket(std::weak_ptr<Box> b) : box_(std::move(b)) {}

    static void progress(void* user, const char* details, const char* resume_state) noexcept {
        auto* b = static_cast<Box*>(user);
        if (!b->callbacks.on_progress) return;
        detail::run_guarded(b->host.get(), "job progress", [&] {
            b->callbacks.on_progress(details != nullptr ? details : "", resume_state != nullptr ? resume_state : "");
        });
    }
    static void done(void* user, uint32_t outcome, const char* reason, const char* message,
                     const char* details) noexcept {
        auto* b = static_cast<Box*>(user);
        std::shared_ptr<Box> keep = std::move(b->self);  // freed when this returns
        if (!b->callbacks.on_end) return;
        auto on_end = std::move(b->callbacks.on_end);
        b->callbacks = {};
        detail::run_guarded(b->host.get(), "job end", [&] {
            JobEnd e;
            e.outcome = outcome == IOTGW_JOB_SUCCEEDED  ? JobOutcome::succeeded
                        : outcome == IOTGW_JOB_REJECTED ? JobOutcome::rejected
                                                        : JobOutcome::failed;
            e.reason = reason != nullptr ? reason : "";
            e.message = message != nullptr ? message : "";
            e.details = details != nullptr ? details : "";
            on_end(e);
        });
    }

    std::weak_ptr<Box> box_;
};

// Hands `job` to the job handler instance `handler`. Throws sdk::Error when it did not start (no
// such handler, not running, or the handler refused); the callbacks are then never called.
inline JobTicket start_job(const Host& host, const std::string& handler, const Job& job, JobCallbacks callbacks) {
    if (!can_run_jobs()) throw Error("this gateway is older than ABI 1.3 and has no job handlers", IOTGW_ERR_UNSUPPORTED);
    auto box = std::make_shared<JobTicket::Box>(JobTicket::Box{host, std::move(callbacks), nullptr});
    box->self = box;
    iotgw_job j{};
    j.size = sizeof j;
    j.job_id = job.id.c_str();
    j.document = job.document.data();
    j.document_len = job.document.size();
    if (job.resume_state) {
        j.resume_state = job.resume_state->data();
        j.resume_state_len = job.resume_state->size();
    }
    iotgw_job_report r{};
    r.size = sizeof r;
    r.progress = &JobTicket::progress;
    r.done = &JobTicket::done;
    r.user = box.get();
    iotgw_error err{};
    if (int rc = detail::host_api().job_start(host.get(), handler.c_str(), &j, &r, &err); rc != IOTGW_OK) {
        box->self.reset();
        throw Error("job handler '" + handler + "' did not start job " + job.id + ": " + err.message, rc);
    }
    return JobTicket(box);
}

inline void cancel_job(const Host& host, const std::string& handler, const std::string& job_id) {
    if (can_run_jobs()) detail::host_api().job_cancel(host.get(), handler.c_str(), job_id.c_str());
}

}  // namespace sdk
}  // namespace iotgw
