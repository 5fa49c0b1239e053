// `jobs`: takes this AMR's AWS IoT Jobs executions one at a time and hands each to the job
// handler that carries out its operation (docs/remote-jobs.md). It speaks the Jobs device MQTT
// API through the connection (requests emitted into the pipeline towards it, replies arriving
// from it), keeps the execution in progress in a journal across restarts, and makes sure every
// execution ends: a handler that goes silent longer than its step time is cancelled and the
// execution FAILED, and the cloud's step timeout, renewed by every progress report, ends one
// whose gateway died.
#include "job_journal.hpp"
#include "job_messages.hpp"
#include "schema.hpp"

#include <iotgw/sdk/json_document.hpp>
#include <iotgw/sdk/json_parse.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace iotgw::plugins::jobs {
namespace {

using namespace std::chrono_literals;

// AWS's range for stepTimeoutInMinutes.
constexpr int64_t kMaxStepMinutes = 10080;

bool terminal(const std::string& status) { return status != "QUEUED" && status != "IN_PROGRESS"; }

const char* status_of(sdk::JobOutcome o) {
    switch (o) {
        case sdk::JobOutcome::succeeded:
            return "SUCCEEDED";
        case sdk::JobOutcome::rejected:
            return "REJECTED";
        case sdk::JobOutcome::failed:
            break;
    }
    return "FAILED";
}

class Jobs final : public sdk::Processor {
public:
    Jobs(sdk::Host host, const sdk::Config& cfg)
        : Processor(host),
          handler_names_(cfg.strings("handlers")),
          connection_(cfg.string("connection")),
          journal_(cfg.string("journal")),
          max_document_bytes_(static_cast<std::size_t>(cfg.integer("max_document_bytes"))),
          retry_(cfg.duration("retry")),
          topics_(host.thing()),
          started_(host.counter("started", "executions handed to a handler (resumed ones too)")),
          succeeded_(host.counter("succeeded", "executions ended SUCCEEDED")),
          failed_(host.counter("failed", "executions ended FAILED")),
          rejected_(host.counter("rejected", "executions ended REJECTED (bad document, unknown operation)")),
          ended_in_cloud_(host.counter("ended_in_cloud", "executions the cloud ended first (cancelled, timed out)")),
          malformed_(host.counter("malformed", "jobs messages that were not what the service sends")),
          busy_(host.gauge("busy", "1 while an execution is in progress")),
          watchdog_(host.timer([this] { on_watchdog(); })),
          retry_timer_(host.timer([this] { on_retry(); })) {
        if (!sdk::can_run_jobs())
            throw sdk::ConfigError("this gateway has no job handlers (plugin ABI 1.3 or newer is needed)");
        if (handler_names_.empty()) throw sdk::ConfigError("'handlers' names no job handler");
    }

    void start() override {
        // Which handler carries out which operation; two handlers claiming one is a config error.
        for (const std::string& name : handler_names_) {
            const sdk::JobHandlerInfo info = sdk::describe_job_handler(host(), name);
            step_timeouts_[name] = info.step_timeout;
            std::string_view ops = info.operations;
            while (!ops.empty()) {
                const std::string op(ops.substr(0, ops.find('|')));
                ops.remove_prefix(std::min(ops.size(), op.size() + 1));
                if (op.empty()) continue;
                const auto [it, added] = handler_of_.emplace(op, name);
                if (!added) {
                    std::string why = "operation '" + op + "' is carried out by both '";
                    why += it->second;
                    why += "' and '";
                    why += name;
                    why += "': list only one of them in 'handlers'";
                    throw sdk::Error(why);
                }
            }
        }
        try {
            current_ = journal_.load();
        } catch (const sdk::Error& e) {
            host().error(e.what(), "; set aside as ", journal_.path(),
                         ".damaged: the cloud's step timeout ends that execution");
            journal_.set_aside();
        }
        if (current_)
            host().notice("job ", current_->job_id, " (", current_->operation,
                          ") was in progress before this start: it goes on once connected");
        show();
        link_ = host().subscribe_events("$iotgw/instance/" + connection_ + "/link",
                                        [this](std::string_view, std::string_view payload) { on_link(payload); });
    }

    void stop() noexcept override {
        link_.reset();
        watchdog_.cancel();
        retry_timer_.cancel();
        // The handler stops its own work when it stops; the journal keeps the execution for the
        // next start, which resumes or ends it.
        ticket_.detach();
        connected_ = false;
    }

    void on_message(const sdk::Delivery&, uint32_t, const sdk::Message& m) override {
        std::optional<Reply> reply;
        try {
            reply = parse_reply(topics_, m.topic, m.payload);
        } catch (const sdk::Error&) {
            malformed_.add();
            throw;  // the gateway logs it and counts pipeline.<name>.failed
        }
        if (!reply) return;  // a jobs topic this processor does not use (e.g. notify)
        if (!reply->client_token.empty() && reply->client_token.rfind(token_prefix(), 0) != 0 &&
            reply->kind != ReplyKind::notify_next)
            return;  // another client's request on this thing
        switch (reply->kind) {
            case ReplyKind::notify_next:
                on_notify_next(*reply);
                break;
            case ReplyKind::start_next_accepted:
                on_start_next(*reply);
                break;
            case ReplyKind::update_accepted:
                on_update_accepted(*reply);
                break;
            case ReplyKind::get_accepted:
                on_get(*reply);
                break;
            case ReplyKind::rejected:
                on_rejected(*reply);
                break;
        }
    }

private:
    // One request at a time: its reply (or the retry timer) frees the way for the next.
    enum class Request { none, start_next, get, progress, final_update };

    // ---- the link ----

    void on_link(std::string_view payload) {
        sdk::MessageDocument doc;
        sdk::parse_json(doc, payload);  // on failure doc is Null: ignored below
        const auto it = doc.IsObject() ? doc.FindMember("connected") : rapidjson::Value::MemberIterator();
        if (!doc.IsObject() || it == doc.MemberEnd() || !it->value.IsBool()) return;
        connected_ = it->value.GetBool();
        if (!connected_) {
            retry_timer_.cancel();
            in_flight_ = Request::none;
            return;
        }
        resume_or_ask();
    }

    // After a connect (and when a request went unanswered): the cloud's view first.
    void resume_or_ask() {
        if (!connected_) return;
        if (!current_)
            send_start_next();
        else if (current_->final_status)
            send_final();
        else
            send_get();  // still IN_PROGRESS there? then the handler goes on (or is resumed)
    }

    // ---- replies ----

    void on_notify_next(const Reply& r) {
        if (!current_) {
            if (r.execution) send_start_next();
            return;
        }
        // The next pending execution is not ours any more: the cloud may have cancelled ours.
        if (!r.execution || r.execution->job_id != current_->job_id) send_get();
    }

    void on_start_next(const Reply& r) {
        in_flight_ = Request::none;
        retry_timer_.cancel();
        if (current_ || !r.execution) return;  // nothing pending, or already working on one
        begin(*r.execution);
    }

    void on_update_accepted(const Reply& r) {
        if (!current_ || r.job_id != current_->job_id) return;
        const Request was = std::exchange(in_flight_, Request::none);
        retry_timer_.cancel();
        current_->version = r.state_version.value_or(current_->version + 1);
        if (was == Request::final_update) {
            host().notice("job ", current_->job_id, " ended ", *current_->final_status);
            finish_locally();
            send_start_next();
            return;
        }
        save();
        // A progress report was accepted; the handler may have ended meanwhile.
        if (current_->final_status)
            send_final();
        else
            send_progress();
    }

    void on_get(const Reply& r) {
        in_flight_ = Request::none;
        retry_timer_.cancel();
        if (!current_ || !r.execution || r.execution->job_id != current_->job_id) return;
        current_->version = r.execution->version;
        // AWS makes a job document's presigned URLs afresh for each delivery, valid for at most
        // an hour: a job resumed after a restart or an outage runs with the document of this
        // reply, not the journalled one (docs/aws-iot-core.md, section 10).
        if (!r.execution->document.empty()) current_->document = r.execution->document;
        if (terminal(r.execution->status)) {
            ended_in_cloud(r.execution->status);
            return;
        }
        save();
        if (current_->final_status)
            send_final();
        else if (!ticket_.active())
            run_handler(true);
        else
            send_progress();
    }

    void on_rejected(const Reply& r) {
        in_flight_ = Request::none;
        retry_timer_.cancel();
        const std::string what = r.request + (r.job_id.empty() ? "" : " of job " + r.job_id);
        if (r.code == "RequestThrottled" || r.code == "InternalError" || r.code == "ServiceUnavailable") {
            host().warning(what, " refused (", r.code, ": ", r.message, "): trying again in ",
                           std::chrono::duration_cast<std::chrono::seconds>(retry_).count(), " s");
            retry_timer_.arm_in(retry_);
            return;
        }
        if (!current_ || r.job_id != current_->job_id) {
            host().warning(what, " refused: ", r.code, ": ", r.message);
            if (r.request == "start-next") retry_timer_.arm_in(retry_);
            return;
        }
        if (r.code == "VersionMismatch") {
            send_get();  // the cloud's version, then the same update again
            return;
        }
        if (r.code == "InvalidStateTransition" || r.code == "TerminalStateReached" || r.code == "ResourceNotFound") {
            ended_in_cloud(r.state_status.value_or(r.code));
            return;
        }
        // InvalidRequest, InvalidJson: the same request would be refused again.
        host().error(what, " refused: ", r.code, ": ", r.message,
                     "; the execution is left to the cloud's step timeout");
        if (ticket_.active()) sdk::cancel_job(host(), current_->handler, current_->job_id);
        finish_locally();
        send_start_next();
    }

    // ---- one execution ----

    void begin(const ExecutionInfo& e) {
        JournalEntry entry;
        entry.job_id = e.job_id;
        entry.execution_number = e.execution_number;
        entry.version = e.version;
        entry.document = e.document;
        const auto op = operation_of(e.document, max_document_bytes_);
        if (const auto* problem = std::get_if<DocumentProblem>(&op)) {
            current_ = std::move(entry);
            end_with(sdk::JobEnd{sdk::JobOutcome::rejected, problem->reason, problem->message, {}});
            return;
        }
        entry.operation = std::get<std::string>(op);
        const auto h = handler_of_.find(entry.operation);
        if (h == handler_of_.end()) {
            current_ = std::move(entry);
            std::string names;
            for (const auto& [op_name, handler] : handler_of_) names += (names.empty() ? "" : ", ") + op_name;
            end_with(sdk::JobEnd{sdk::JobOutcome::rejected, "unknown_operation",
                                 "this gateway carries out no operation '" + current_->operation +
                                     "' (it has: " + names + ")",
                                 {}});
            return;
        }
        entry.handler = h->second;
        current_ = std::move(entry);
        save();
        run_handler(false);
    }

    void run_handler(bool resumed) {
        sdk::Job job{current_->job_id, current_->document, std::nullopt};
        if (resumed) job.resume_state = current_->resume_state.empty() ? std::string("{}") : current_->resume_state;
        const std::string job_id = current_->job_id;
        try {
            ticket_ = sdk::start_job(
                host(), current_->handler, job,
                sdk::JobCallbacks{[this, job_id](const std::string& details, const std::string& resume_state) {
                                      on_progress(job_id, details, resume_state);
                                  },
                                  [this, job_id](const sdk::JobEnd& end) { on_end(job_id, end); }});
        } catch (const sdk::Error& e) {
            end_with(sdk::JobEnd{sdk::JobOutcome::failed, "handler_refused", e.what(), {}});
            return;
        }
        started_.add();
        host().notice(resumed ? "resumed job " : "started job ", current_->job_id, " (", current_->operation,
                      ") with ", current_->handler);
        arm_watchdog();
        // The step timeout starts again from here: a resumed job reports at once.
        if (resumed) {
            pending_progress_ = status_details(R"({"step":"resumed after a restart"})", "", "");
            send_progress();
        }
        show();
    }

    void on_progress(const std::string& job_id, const std::string& details, const std::string& resume_state) {
        if (!current_ || current_->job_id != job_id || current_->final_status) return;
        if (!resume_state.empty()) {
            current_->resume_state = resume_state;
            save();  // before the report: the journal never lags what the cloud was told
        }
        pending_progress_ = status_details(details, "", "");
        arm_watchdog();
        send_progress();
    }

    void on_end(const std::string& job_id, const sdk::JobEnd& end) {
        if (!current_ || current_->job_id != job_id || current_->final_status) return;
        end_with(end);
    }

    void end_with(const sdk::JobEnd& end) {
        watchdog_.cancel();
        ticket_.detach();
        pending_progress_.reset();
        current_->final_status = status_of(end.outcome);
        current_->final_details = status_details(end.details, end.reason, end.message);
        (end.outcome == sdk::JobOutcome::succeeded  ? succeeded_
         : end.outcome == sdk::JobOutcome::rejected ? rejected_
                                                    : failed_)
            .add();
        if (end.outcome == sdk::JobOutcome::succeeded)
            host().info("job ", current_->job_id, " succeeded");
        else
            host().warning("job ", current_->job_id, " ", *current_->final_status, ": ", end.reason, ": ",
                           end.message);
        save();
        send_final();
    }

    void on_watchdog() {
        if (!current_ || current_->final_status) return;
        const auto step = step_of(current_->handler);
        host().warning("job ", current_->job_id, ": handler ", current_->handler, " reported nothing for ",
                       std::chrono::duration_cast<std::chrono::seconds>(step).count(), " s: cancelled");
        sdk::cancel_job(host(), current_->handler, current_->job_id);
        end_with(sdk::JobEnd{sdk::JobOutcome::failed, "handler_timeout",
                             "the job handler reported no progress within its step time", {}});
    }

    void ended_in_cloud(const std::string& status) {
        ended_in_cloud_.add();
        host().warning("job ", current_->job_id, " ended in the cloud (", status, ")",
                       ticket_.active() ? ": its handler is cancelled" : "");
        if (ticket_.active()) sdk::cancel_job(host(), current_->handler, current_->job_id);
        finish_locally();
        send_start_next();
    }

    void finish_locally() {
        watchdog_.cancel();
        ticket_.detach();
        pending_progress_.reset();
        current_.reset();
        try {
            journal_.clear();
        } catch (const sdk::Error& e) {
            host().error(e.what());
        }
        show();
    }

    // ---- requests ----

    std::string token_prefix() const { return host().instance_name() + "-"; }
    std::string next_token() { return token_prefix() + std::to_string(++tokens_); }

    int64_t step_minutes(const std::string& handler) const {
        const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(step_of(handler)).count() + 1;
        return std::clamp<int64_t>(minutes, 1, kMaxStepMinutes);
    }
    std::chrono::milliseconds step_of(const std::string& handler) const {
        const auto it = step_timeouts_.find(handler);
        return it != step_timeouts_.end() ? it->second : std::chrono::milliseconds(10min);
    }
    // The longest any handler may take: start-next does not know the operation yet.
    int64_t longest_step_minutes() const {
        int64_t most = 1;
        for (const auto& [name, step] : step_timeouts_) most = std::max(most, step_minutes(name));
        return most;
    }

    void send(Request what, const std::string& topic, const std::string& payload) {
        in_flight_ = what;
        host().emit(sdk::Message{topic, payload, 1, false});
        retry_timer_.arm_in(retry_);  // unanswered: the cloud's view is asked again
    }

    void send_start_next() {
        if (!connected_ || in_flight_ != Request::none || current_) return;
        send(Request::start_next, topics_.start_next(), start_next_request(next_token(), longest_step_minutes()));
    }

    void send_get() {
        if (!connected_ || in_flight_ != Request::none || !current_) return;
        send(Request::get, topics_.get(current_->job_id), get_request(next_token()));
    }

    void send_progress() {
        if (!connected_ || in_flight_ != Request::none || !current_ || !pending_progress_) return;
        const std::string details = std::move(*pending_progress_);
        pending_progress_.reset();
        send(Request::progress, topics_.update(current_->job_id),
             update_request("IN_PROGRESS", details, current_->version, step_minutes(current_->handler), next_token()));
    }

    void send_final() {
        if (!connected_ || in_flight_ != Request::none || !current_ || !current_->final_status) return;
        send(Request::final_update, topics_.update(current_->job_id), update_request(*current_->final_status, current_->final_details,
                                                              current_->version, std::nullopt, next_token()));
    }

    // A request went unanswered (lost with the connection, or a throttle): the cloud's view again;
    // a lost progress report is not sent again, the next one or the end follows.
    void on_retry() {
        in_flight_ = Request::none;
        resume_or_ask();
    }

    void arm_watchdog() { watchdog_.arm_in(step_of(current_->handler)); }

    void save() {
        try {
            journal_.save(*current_);
        } catch (const sdk::Error& e) {
            // Not fatal for the job; after a restart it would end by the cloud's step timeout.
            host().error(e.what());
        }
    }

    void show() { busy_.set(current_ ? 1.0 : 0.0); }

    const std::vector<std::string> handler_names_;
    const std::string connection_;
    const JobJournal journal_;
    const std::size_t max_document_bytes_;
    const std::chrono::milliseconds retry_;
    const JobTopics topics_;
    std::map<std::string, std::string> handler_of_;  // operation -> handler instance
    std::map<std::string, std::chrono::milliseconds> step_timeouts_;

    sdk::Counter started_, succeeded_, failed_, rejected_, ended_in_cloud_, malformed_;
    sdk::Gauge busy_;
    sdk::Timer watchdog_;
    sdk::Timer retry_timer_;
    sdk::EventSubscription link_;

    std::optional<JournalEntry> current_;
    sdk::JobTicket ticket_;
    std::optional<std::string> pending_progress_;  // the latest progress not yet sent
    bool connected_ = false;
    Request in_flight_ = Request::none;
    uint64_t tokens_ = 0;
};

}  // namespace
}  // namespace iotgw::plugins::jobs

IOTGW_DECLARE_PLUGIN(iotgw::plugins::jobs::Jobs,
                     {.abi_major = 1,
                      .abi_minor = 3,
                      .name = "jobs",
                      .version = "1.0.0",
                      .description = "Takes this AMR's AWS IoT Jobs executions one at a time, hands each to the "
                                     "job handler of its operation, and keeps it in a journal across restarts.",
                      .fields = iotgw::plugins::jobs::kFields})
