// `package`: the job handler of the operation "package" (docs/remote-jobs.md): updates the
// gateway itself. The service runs sandboxed with NoNewPrivileges, so it cannot install
// anything; it prepares and asks, and the root helper (`iotgw update run`, started by
// iotgw-update.path) checks everything again and installs:
// 1. the document is checked (a bad one is REJECTED), a trusted key must exist and the disk must
//    have room, then the .deb is downloaded over HTTPS on a thread of its own (TLS verified,
//    resumed after an interruption, size capped);
// 2. size, SHA-256 and the detached signature are verified; anything that does not match is
//    deleted and the job FAILED: an unsigned or mis-signed package is never handed on;
// 3. the step is journalled, then <request_dir>/<job>.deb and request.json are written (the
//    request last, by rename): the helper takes them, installs with dpkg, and dpkg restarts the
//    service;
// 4. resumed in the new version, the handler waits for the connection and writes confirm.json;
//    the helper keeps the package and the job is SUCCEEDED. A new version that does not confirm
//    in time, or a dpkg that fails, is rolled back by the helper to the kept package, whose
//    handler then ends the job FAILED with the helper's reason.
#include "helper_state.hpp"
#include "schema.hpp"

#include <iotgw/core/package_document.hpp>
#include <iotgw/core/package_signature.hpp>
#include <iotgw/core/update_installer.hpp>
#include <iotgw/plugins/common/durable_file.hpp>
#include <iotgw/plugins/https/https_download.hpp>
#include <iotgw/plugins/https/https_url.hpp>
#include <iotgw/sdk/job_details.hpp>
#include <iotgw/sdk/jobs.hpp>
#include <iotgw/sdk/json_parse.hpp>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <sys/statvfs.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>

namespace iotgw::plugins::package {
namespace {

using namespace std::chrono_literals;
namespace update = core::update;

constexpr size_t kMaxDetail = sdk::kMaxJobDetailChars;
using sdk::job_details;
constexpr auto kPollPeriod = 1s;
// A download that broke off (network, 5xx) is tried again this often in all, resuming from what
// it saved, kRetryDelay more apart each time, before the job fails.
constexpr int kDownloadAttempts = 4;
constexpr auto kRetryDelay = 5s;

std::string clip(const std::string& s) { return s.size() <= kMaxDetail ? s : s.substr(0, kMaxDetail); }

constexpr const char* kDownloading = R"({"phase":"downloading"})";
constexpr const char* kRequested = R"({"phase":"requested"})";

class PackageHandler final : public sdk::JobHandler {
public:
    PackageHandler(sdk::Host host, const sdk::Config& cfg)
        : JobHandler(host),
          connection_(cfg.string("connection")),
          request_dir_(cfg.string("request_dir")),
          helper_dir_(cfg.string("helper_dir")),
          keys_dir_(cfg.string("keys_dir")),
          max_bytes_(static_cast<uint64_t>(cfg.integer("max_package_bytes"))),
          allow_downgrade_(cfg.boolean("allow_downgrade")),
          ca_(cfg.optional_string("ca").value_or("")),
          download_timeout_(cfg.duration("download_timeout")),
          install_timeout_(cfg.duration("install_timeout")),
          step_timeout_(cfg.duration("step_timeout")),
          poll_(host.timer([this] { poll(); })),
          retry_(host.timer([this] { download(); })),
          downloaded_(host.counter("downloaded", "packages downloaded and verified")),
          refused_(host.counter("refused", "packages refused by the size, digest or signature check")),
          installed_(host.counter("installed", "updates confirmed by the new version")),
          failed_(host.counter("failed", "updates that failed or were rolled back")) {}

    std::string operations() const override { return "package"; }
    std::chrono::milliseconds step_timeout() const override { return step_timeout_; }

    void start_job(sdk::Job job, sdk::JobReport report) override {
        end_download();
        poll_.cancel();
        retry_.cancel();
        link_.reset();
        job_id_ = job.id;
        report_ = report;
        confirmed_ = false;
        attempts_ = 0;
        auto parsed = update::parse_package_document(job.document);
        if (const auto* problem = std::get_if<update::PackageDocumentProblem>(&parsed)) {
            report_->reject(problem->reason, problem->message);
            return;
        }
        doc_ = std::get<update::PackageDocument>(parsed);
        document_ = job.document;
        if (job.resume_state && *job.resume_state == kRequested) {
            wait_for_helper();
            return;
        }
        begin();  // new, or interrupted in the download (which resumes from its .part file)
    }

    ~PackageHandler() override { end_download(); }

    void cancel_job(const std::string& job_id) override {
        if (job_id != job_id_) return;
        end_download();
        poll_.cancel();
        retry_.cancel();
        link_.reset();
        if (report_ && !report_->ended()) {
            host().warning("job ", job_id, " cancelled; an install the helper has taken is not stopped");
            report_->fail("cancelled", "the job was cancelled");
        }
        report_.reset();
    }

    void stop() noexcept override {
        end_download();
        poll_.cancel();
        retry_.cancel();
        link_.reset();
    }

private:
    std::string staged() const { return request_dir_ + "/" + job_id_ + ".deb"; }

    void fail(const std::string& reason, const std::string& message, std::string more = {}) {
        failed_.add();
        host().warning("job ", job_id_, " failed (", reason, "): ", message);
        poll_.cancel();
        retry_.cancel();
        link_.reset();
        report_->fail(reason, clip(message), std::move(more));
    }

    void begin() {
        if (doc_.version == sdk::Host::gateway_version()) {
            report_->succeed(job_details({{"version", doc_.version}, {"installed", "already running"}}));
            return;
        }
        // Not worth a download: the root helper refuses an older version too (its own setting,
        // which a config job cannot change), but only after the whole package came.
        if (!allow_downgrade_) {
            const std::string running = sdk::Host::gateway_version();
            try {
                if (update::is_older_version(doc_.version, running)) {
                    fail("downgrade_refused",
                         "version " + doc_.version + " is older than the running " + running +
                             "; this AMR installs only newer versions; nothing was downloaded");
                    return;
                }
            } catch (const std::exception& e) {  // the helper compares again
                host().warning("job ", job_id_, ": ", e.what(), "; the update helper decides");
            }
        }
        if (doc_.claim.size > max_bytes_) {
            fail("package_too_large", "the package has " + std::to_string(doc_.claim.size) +
                                          " bytes; this gateway takes at most " + std::to_string(max_bytes_));
            return;
        }
        // Refused before a byte is downloaded: without a trusted key nothing could be installed.
        try {
            const auto keys = update::load_trusted_keys(keys_dir_);
            if (keys.files.empty()) {
                fail("no_trusted_key",
                     "no trusted update key in " + keys_dir_ +
                         (keys.problems.empty() ? std::string() : ": " + keys.problems.front()));
                return;
            }
        } catch (const update::VerifyError& e) {
            fail("no_trusted_key", e.what());
            return;
        }
        std::error_code ec;
        std::filesystem::create_directories(request_dir_, ec);
        struct statvfs fs {};
        if (ec || ::statvfs(request_dir_.c_str(), &fs) != 0) {
            fail("download_failed",
                 "cannot use the directory " + request_dir_ +
                     (ec ? ": " + ec.message() : ": " + common::errno_text()),
                 job_details({{"retryable", "false"}}));
            return;
        }
        const uint64_t free_bytes = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
        if (const uint64_t need = space_needed(doc_.claim.size); free_bytes < need) {
            fail("insufficient_space",
                 request_dir_ + " has " + std::to_string(free_bytes / (1024 * 1024)) +
                     " MiB free; a package of " + std::to_string(doc_.claim.size / (1024 * 1024)) +
                     " MiB needs " + std::to_string(need / (1024 * 1024)) + " MiB; nothing was downloaded");
            return;
        }
        download();
    }

    // The download blocks, so it runs on a thread of its own and its outcome comes back to the
    // loop. Progress is reported at each quarter (a job update is a metered message).
    void download() {
        if (!report_ || report_->ended()) return;
        ++attempts_;
        report_->progress(job_details({{"step", "downloading"}, {"version", doc_.version}}), kDownloading);
        host().notice("job ", job_id_, ": downloading version ", doc_.version, " from ",
                      https::redacted(doc_.url));
        https::DownloadRequest rq;
        rq.url = doc_.url;
        rq.path = staged();
        rq.max_bytes = std::min(max_bytes_, doc_.claim.size);
        rq.ca_file = ca_;
        rq.io_timeout = download_timeout_;
        cancel_download_ = false;
        download_thread_ = std::thread([this, rq, job = job_id_] {
            int quarter = 0;
            auto progress = [&](uint64_t bytes, uint64_t total) {
                if (total == 0) return;
                const int q = static_cast<int>(bytes * 4 / total);
                if (q <= quarter || q >= 4) return;
                quarter = q;
                try {
                    host().post([this, job, bytes, total] {
                        if (report_ && !report_->ended() && job == job_id_)
                            report_->progress(job_details({{"step", "downloading"},
                                                           {"bytes", std::to_string(bytes)},
                                                           {"total", std::to_string(total)}}),
                                              kDownloading);
                    });
                } catch (const sdk::Error&) {}
            };
            auto outcome = https::download(rq, cancel_download_, progress);
            try {
                host().post([this, job, outcome] { on_downloaded(job, outcome); });
            } catch (const sdk::Error&) {  // stopping: the journal resumes the download after the restart
            }
        });
    }

    void on_downloaded(const std::string& job, const https::DownloadOutcome& outcome) {
        end_download();
        if (!report_ || report_->ended() || job != job_id_) return;
        if (!outcome.ok && outcome.retryable && attempts_ < kDownloadAttempts) {
            host().warning("job ", job_id_, ": ", outcome.error, "; attempt ", attempts_ + 1, " of ",
                           kDownloadAttempts, " in ", (kRetryDelay * attempts_).count(), " s");
            retry_.arm_in(kRetryDelay * attempts_);
            return;
        }
        if (!outcome.ok) {
            fail("download_failed", outcome.error + " (attempt " + std::to_string(attempts_) + ")",
                 job_details({{"retryable", outcome.retryable ? "true" : "false"}}));
            return;
        }
        try {
            const auto key = update::verify_package(staged(), doc_.claim, keys_dir_);
            host().notice("job ", job_id_, ": version ", doc_.version, " verified with ", key);
        } catch (const update::VerifyError& e) {
            refused_.add();
            common::remove_file(staged());
            fail("verification_failed",
                 std::string(e.what()) + "; the package was deleted, nothing was installed");
            return;
        }
        downloaded_.add();
        // Journalled before the request exists: whatever restarts the service from here on (dpkg,
        // a crash, power loss), the job comes back to wait_for_helper().
        report_->progress(job_details({{"step", "installing"}, {"version", doc_.version}}), kRequested);
        rapidjson::StringBuffer out;
        rapidjson::Writer<rapidjson::StringBuffer> w(out);
        w.StartObject();
        w.Key("job");
        w.String(job_id_.c_str(), static_cast<rapidjson::SizeType>(job_id_.size()));
        w.Key("document");
        w.RawValue(document_.c_str(), document_.size(), rapidjson::kObjectType);
        w.EndObject();
        try {
            common::write_file_atomic(request_dir_ + "/request.json", {out.GetString(), out.GetSize()}, 0644);
        } catch (const std::exception& e) {
            common::remove_file(staged());
            fail("request_failed",
                 std::string("cannot write the request for the update helper: ") + e.what());
            return;
        }
        host().notice("job ", job_id_, ": version ", doc_.version, " handed to the update helper");
        wait_for_helper();
    }

    void end_download() noexcept {
        cancel_download_ = true;
        if (download_thread_.joinable() && download_thread_.get_id() != std::this_thread::get_id())
            download_thread_.join();
    }

    // ---- after the request: the helper's record decides ----

    void wait_for_helper() {
        waiting_since_ = sdk::Timer::now_ns();
        link_ =
            host().subscribe_events("$iotgw/instance/" + connection_ + "/link",
                                    [this](std::string_view, std::string_view payload) { on_link(payload); });
        poll();
    }

    void on_link(std::string_view payload) {
        sdk::MessageDocument doc;
        sdk::parse_json(doc, payload);  // on failure doc is Null: ignored below
        if (!doc.IsObject()) return;
        const auto it = doc.FindMember("connected");
        connected_ = it != doc.MemberEnd() && it->value.IsBool() && it->value.GetBool();
        if (connected_ && report_ && !report_->ended()) poll();
    }

    std::optional<update::InstallRecord> read_record() {
        update::InstallerPaths paths;
        paths.work_dir = helper_dir_;
        update::InstallRecord r;
        if (!update::Installer(paths).read_record(r)) return std::nullopt;
        return r;
    }

    void poll() {
        if (!report_ || report_->ended()) return;
        Verdict v;
        try {
            v = judge(read_record(), job_id_, sdk::Host::gateway_version());
        } catch (const std::exception& e) {
            fail("helper_state_unreadable", e.what());
            return;
        }
        switch (v.next) {
            case Next::succeed:
                installed_.add();
                link_.reset();
                host().notice("job ", job_id_, ": ", v.message);
                report_->succeed(job_details({{"version", doc_.version}}));
                return;
            case Next::fail:
                fail(v.reason, v.message.empty() ? "the update helper gave no reason" : v.message);
                return;
            case Next::confirm:
                if (connected_ && !confirmed_) confirm();
                break;
            case Next::wait:
                if (waited() > install_timeout_ + std::chrono::seconds(doc_.confirm_seconds)) {
                    abandon(v.message);
                    return;
                }
                break;
        }
        poll_.arm_in(kPollPeriod);
    }

    std::chrono::milliseconds waited() const {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::nanoseconds(sdk::Timer::now_ns() - waiting_since_));
    }

    void confirm() {
        rapidjson::StringBuffer out;
        rapidjson::Writer<rapidjson::StringBuffer> w(out);
        w.StartObject();
        w.Key("job");
        w.String(job_id_.c_str(), static_cast<rapidjson::SizeType>(job_id_.size()));
        w.Key("version");
        w.String(doc_.version.c_str(), static_cast<rapidjson::SizeType>(doc_.version.size()));
        w.EndObject();
        try {
            common::write_file_atomic(request_dir_ + "/confirm.json", {out.GetString(), out.GetSize()}, 0644);
        } catch (const std::exception& e) {
            // Not confirmed: the helper rolls back at the deadline and the job ends FAILED then.
            host().error("job ", job_id_, ": cannot confirm version ", doc_.version, ": ", e.what());
            return;
        }
        confirmed_ = true;
        host().notice("job ", job_id_, ": version ", doc_.version, " runs and is connected; confirmed");
    }

    // The helper never took the request (its path unit is not enabled?) or never finished:
    // the request is withdrawn so a late helper does not install what the job reports failed.
    void abandon(const std::string& where) {
        const bool taken = !common::path_exists(request_dir_ + "/request.json");
        common::remove_file(request_dir_ + "/request.json");
        common::remove_file(staged());
        fail(taken ? "install_stalled" : "helper_not_run",
             (taken ? std::string("the update helper took the request but did not finish within ")
                    : std::string("the update helper did not take the request within ")) +
                 std::to_string(waited().count() / 1000) + " s (" + where +
                 "); is iotgw-update.path enabled? The request was withdrawn");
    }

    const std::string connection_, request_dir_, helper_dir_, keys_dir_;
    const uint64_t max_bytes_;
    const bool allow_downgrade_;
    const std::string ca_;
    const std::chrono::milliseconds download_timeout_, install_timeout_, step_timeout_;
    sdk::Timer poll_, retry_;
    sdk::Counter downloaded_, refused_, installed_, failed_;
    std::atomic<bool> cancel_download_{false};
    std::thread download_thread_;
    std::string job_id_, document_;
    update::PackageDocument doc_;
    std::optional<sdk::JobReport> report_;
    std::optional<sdk::EventSubscription> link_;
    int64_t waiting_since_ = 0;
    int attempts_ = 0;
    bool connected_ = false, confirmed_ = false;
};

}  // namespace
}  // namespace iotgw::plugins::package

IOTGW_DECLARE_PLUGIN(
    iotgw::plugins::package::PackageHandler,
    {.abi_major = 1,
     .abi_minor = 3,
     .name = "package",
     .version = "1.0.0",
     .description = "Job handler of the operation \"package\": downloads and verifies a signed gateway "
                    "package and has the root helper install it; kept once the new version connects, "
                    "else rolled back.",
     .fields = iotgw::plugins::package::kFields})
