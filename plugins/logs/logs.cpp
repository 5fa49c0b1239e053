// `logs`: the job handler of the operation "logs" (docs/remote-jobs.md). It uploads the newest
// lines of the gateway's journal, or those of a time range, to the URL the job names (a presigned
// S3 PUT), so an operator can read what an AMR's gateway did without a visit:
// 1. the document is checked (a bad one is REJECTED);
// 2. journalctl runs on a thread of its own, bounded in time, and only the newest
//    `max_upload_bytes` of its output are kept, cut at a line start;
// 3. the text goes by PUT, tried again after 5 and 10 s when the network or the server failed;
// 4. SUCCEEDED with the bytes and lines sent, or FAILED `journal_unreadable` / `upload_failed`.
// Resumed after a restart, it starts over: reading is repeatable and a PUT replaces the object.
#include "journal_reader.hpp"
#include "logs_document.hpp"
#include "schema.hpp"

#include <iotgw/plugins/https/https_upload.hpp>
#include <iotgw/plugins/https/https_url.hpp>
#include <iotgw/sdk/job_details.hpp>
#include <iotgw/sdk/jobs.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <string>
#include <thread>

namespace iotgw::plugins::logs {
namespace {

using namespace std::chrono_literals;
using sdk::job_details;

constexpr int kUploadAttempts = 3;
constexpr auto kRetryDelay = 5s;
constexpr const char* kRunning = R"({"phase":"uploading"})";

std::string clip(const std::string& s) {
    return s.size() <= sdk::kMaxJobDetailChars ? s : s.substr(0, sdk::kMaxJobDetailChars);
}

std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char out[32];
    std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return out;
}

// What a worker thread hands back to the loop.
struct Outcome {
    bool ok = false;
    std::string reason, message;
    bool retryable = false;
    uint64_t bytes = 0, lines = 0, dropped = 0;
    std::string note;
};

class LogsHandler final : public sdk::JobHandler {
public:
    LogsHandler(sdk::Host host, const sdk::Config& cfg)
        : JobHandler(host),
          journalctl_(cfg.string("journalctl")),
          unit_(cfg.string("unit")),
          max_bytes_(static_cast<uint64_t>(cfg.integer("max_upload_bytes"))),
          ca_(cfg.optional_string("ca").value_or("")),
          read_timeout_(cfg.duration("read_timeout")),
          upload_timeout_(cfg.duration("upload_timeout")),
          step_timeout_(cfg.duration("step_timeout")),
          uploaded_(host.counter("uploaded", "journal uploads that succeeded")),
          failed_(host.counter("failed", "logs jobs that failed")) {}

    ~LogsHandler() override { end_worker(); }

    std::string operations() const override { return "logs"; }
    std::chrono::milliseconds step_timeout() const override { return step_timeout_; }

    void start_job(sdk::Job job, sdk::JobReport report) override {
        end_worker();
        auto parsed = parse_logs_document(job.document);
        if (const auto* problem = std::get_if<LogsDocumentProblem>(&parsed)) {
            report.reject(problem->reason, problem->message);
            return;
        }
        const LogsDocument doc = std::get<LogsDocument>(parsed);
        job_id_ = job.id;
        report_ = report;
        JournalQuery q{journalctl_, unit_, doc.lines, doc.since_unix, doc.until_unix};
        const uint64_t cap = std::min(max_bytes_, doc.max_bytes.value_or(max_bytes_));
        host().notice("job ", job_id_, ": uploading the journal of ", unit_,
                      doc.lines ? " (the newest " + std::to_string(*doc.lines) + " lines)"
                                : std::string(" (a time range)"),
                      " to ", https::redacted(doc.url), job.resume_state ? " (again, after a restart)" : "");
        report_->progress(job_details({{"step", "uploading"}}), kRunning);
        cancelled_ = false;
        worker_ = std::thread([this, job = job_id_, q, cap, url = doc.url] {
            Outcome out = collect_and_send(job, q, cap, url);
            try {
                host().post([this, job, out] { on_done(job, out); });
            } catch (const sdk::Error&) {  // stopping: the journal resumes the job after the restart
            }
        });
    }

    void cancel_job(const std::string& job_id) override {
        if (job_id != job_id_) return;
        end_worker();
        if (report_ && !report_->ended()) report_->fail("cancelled", "the job was cancelled");
        report_.reset();
    }

    void stop() noexcept override { end_worker(); }

private:
    // On the worker thread: nothing here touches the handler's state but the cancel flag.
    Outcome collect_and_send(const std::string& job, const JournalQuery& q, uint64_t cap,
                             const std::string& url) {
        Outcome out;
        const auto argv = journalctl_argv(q);
        JournalText journal = read_journal(argv, cap, read_timeout_, cancelled_);
        if (!journal.ok) {
            out.reason = "journal_unreadable";
            out.message = "cannot read the journal of " + q.unit + ": " + journal.error;
            return out;
        }
        out.lines = journal.lines;
        out.dropped = journal.dropped;
        out.note = journal.note;
        https::UploadRequest rq;
        rq.url = url;
        rq.content_type = "text/plain; charset=utf-8";
        rq.ca_file = ca_;
        rq.io_timeout = upload_timeout_;
        // The first lines say what this is, so a file found later in a bucket explains itself.
        std::string command;
        for (const auto& a : argv) command += (command.empty() ? "" : " ") + a;
        rq.body = "# iotgw " + sdk::Host::gateway_version() + ", job " + job + ", taken " + utc_now() +
                  "\n# " + command + "\n" +
                  (journal.note.empty() ? std::string() : "# journalctl said: " + journal.note + "\n") +
                  (journal.dropped > 0 ? "# the oldest " + std::to_string(journal.dropped) +
                                             " bytes were left out to keep to " + std::to_string(cap) + "\n"
                                       : std::string());
        // Appended, then the journal's own copy freed: one copy of up to `cap` bytes is held
        // while uploading (the upload sends from it without copying).
        rq.body += journal.text;
        journal.text = std::string();
        out.bytes = rq.body.size();
        for (int attempt = 1;; ++attempt) {
            const https::UploadOutcome up = https::upload(rq, cancelled_);
            if (up.ok) {
                out.ok = true;
                return out;
            }
            out.retryable = up.retryable;
            out.reason = "upload_failed";
            out.message = up.error + " (attempt " + std::to_string(attempt) + ")";
            if (!up.retryable || attempt == kUploadAttempts) return out;
            // Interrupted by a cancel: checked every tenth of a second.
            const auto until = std::chrono::steady_clock::now() + kRetryDelay * attempt;
            while (std::chrono::steady_clock::now() < until && !cancelled_.load())
                std::this_thread::sleep_for(100ms);
            if (cancelled_.load()) return out;
        }
    }

    void on_done(const std::string& job, const Outcome& out) {
        // A late outcome of an earlier job must not stop the worker of the current one.
        if (job != job_id_) return;
        end_worker();
        if (!report_ || report_->ended()) return;
        if (!out.ok) {
            failed_.add();
            host().warning("job ", job_id_, " failed (", out.reason, "): ", out.message);
            report_->fail(out.reason, clip(out.message),
                          out.reason == "upload_failed"
                              ? job_details({{"retryable", out.retryable ? "true" : "false"}})
                              : std::string());
            return;
        }
        uploaded_.add();
        host().notice(
            "job ", job_id_, ": uploaded ", out.bytes, " bytes, ", out.lines, " lines of the journal of ",
            unit_, out.dropped > 0 ? " (the oldest " + std::to_string(out.dropped) + " bytes left out)" : "");
        if (!out.note.empty()) host().warning("job ", job_id_, ": journalctl said: ", out.note);
        const std::string bytes = std::to_string(out.bytes), lines = std::to_string(out.lines),
                          truncated = out.dropped > 0 ? "true" : "false";
        report_->succeed(out.note.empty()
                             ? job_details({{"bytes", bytes}, {"lines", lines}, {"truncated", truncated}})
                             : job_details({{"bytes", bytes},
                                            {"lines", lines},
                                            {"truncated", truncated},
                                            {"journal_note", clip(out.note)}}));
    }

    void end_worker() noexcept {
        cancelled_ = true;
        if (worker_.joinable() && worker_.get_id() != std::this_thread::get_id()) worker_.join();
    }

    const std::string journalctl_, unit_;
    const uint64_t max_bytes_;
    const std::string ca_;
    const std::chrono::milliseconds read_timeout_, upload_timeout_, step_timeout_;
    sdk::Counter uploaded_, failed_;
    std::atomic<bool> cancelled_{false};
    std::thread worker_;
    std::string job_id_;
    std::optional<sdk::JobReport> report_;
};

}  // namespace
}  // namespace iotgw::plugins::logs

IOTGW_DECLARE_PLUGIN(iotgw::plugins::logs::LogsHandler,
                     {.abi_major = 1,
                      .abi_minor = 3,
                      .name = "logs",
                      .version = "1.0.0",
                      .description = "Job handler of the operation \"logs\": uploads the newest lines, or a "
                                     "time range, of the gateway's journal to the URL the job names.",
                      .fields = iotgw::plugins::logs::kFields})
