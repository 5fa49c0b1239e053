// `config`: the job handler of the operation "config" (docs/remote-jobs.md). It replaces the
// gateway's whole configuration with the job document's TOML, the way an operator would with
// `iotgw check` and a reload, but safely from afar:
// 0. a configuration named by URL is downloaded over HTTPS first (on a thread of its own; TLS
//    verified, size capped at max_toml_bytes) and must have the document's SHA-256;
// 1. the text is checked as `iotgw check` does, with every plugin's own checks; an invalid one
//    ends the job FAILED with the problems (file:line) and nothing changed;
// 2. a valid one is written on trial beside the packaged one (`iotgw run --remote-config`) and
//    the gateway reloads with it; the step is journalled first, so the new configuration's
//    jobs processor gives the job back to this handler after the reload;
// 3. resumed, the handler waits for the connection to come up under the new configuration and
//    then confirms it: SUCCEEDED. If that does not happen within `trial`, or the gateway keeps
//    crashing with it, the gateway itself brings the previous configuration back, and the job
//    (resumed once more, by the previous configuration's handler) ends FAILED "rolled_back".
#include "config_document.hpp"
#include "schema.hpp"

#include <iotgw/plugins/common/durable_file.hpp>
#include <iotgw/plugins/https/https_download.hpp>
#include <iotgw/plugins/https/https_url.hpp>
#include <iotgw/sdk/job_details.hpp>
#include <iotgw/sdk/jobs.hpp>
#include <iotgw/sdk/json_parse.hpp>
#include <iotgw/sdk/remote_config.hpp>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace iotgw::plugins::config {
namespace {

using namespace std::chrono_literals;

constexpr size_t kMaxDetail = sdk::kMaxJobDetailChars;
using sdk::job_details;

// The problems, one per line, cut at a line boundary to fit a status detail.
std::string problem_lines(const std::vector<std::string>& problems) {
    std::string text;
    size_t shown = 0;
    for (const auto& p : problems) {
        if (text.size() + p.size() + 1 > kMaxDetail - 40) break;
        text += (text.empty() ? "" : "\n") + p;
        ++shown;
    }
    if (shown == 0 && !problems.empty()) text = problems.front().substr(0, kMaxDetail - 40);
    if (shown < problems.size()) text += "\n(" + std::to_string(problems.size() - shown) + " more)";
    return text;
}

constexpr const char* kApplying = R"({"phase":"applying"})";

class ConfigHandler final : public sdk::JobHandler {
public:
    ConfigHandler(sdk::Host host, const sdk::Config& cfg)
        : JobHandler(host),
          connection_(cfg.string("connection")),
          trial_(cfg.duration("trial")),
          max_toml_bytes_(static_cast<size_t>(cfg.integer("max_toml_bytes"))),
          download_dir_(cfg.string("download_dir")),
          ca_(cfg.optional_string("ca").value_or("")),
          download_timeout_(cfg.duration("download_timeout")),
          applied_(host.counter("applied", "configurations applied on trial")),
          confirmed_(host.counter("confirmed", "configurations kept after their trial")),
          refused_(host.counter("refused", "configurations refused by the check")),
          rolled_back_(host.counter("rolled_back", "jobs whose configuration was rolled back")) {}

    std::string operations() const override { return "config"; }
    // The longest silence: a resumed job waits up to the trial for the connection.
    std::chrono::milliseconds step_timeout() const override { return trial_ + 60s; }

    void start_job(sdk::Job job, sdk::JobReport report) override {
        if (!sdk::host_can_apply_config()) throw sdk::Error("this gateway cannot apply configurations");
        job_id_ = job.id;
        report_ = report;
        if (job.resume_state && *job.resume_state != "{}") {
            resume(job);
            return;
        }
        apply(job);
    }

    ~ConfigHandler() override { end_download(); }

    void cancel_job(const std::string& job_id) override {
        if (job_id != job_id_) return;
        link_.reset();
        end_download();
        if (report_ && !report_->ended()) {
            host().warning("job ", job_id,
                           " cancelled: a configuration on trial is rolled back at the end of its trial");
            report_->fail("cancelled", "the job was cancelled; a configuration on trial is not confirmed");
        }
        report_.reset();
    }

    void stop() noexcept override {
        link_.reset();
        end_download();
    }

private:
    void apply(const sdk::Job& job) {
        auto parsed = parse_config_document(job.document, max_toml_bytes_);
        if (const auto* problem = std::get_if<DocumentProblem>(&parsed)) {
            report_->reject(problem->reason, problem->message);
            return;
        }
        auto& doc = std::get<ConfigDocument>(parsed);
        if (!doc.url.empty()) {
            download(job.id, doc);
            return;
        }
        apply_text(job.id, doc.toml);
    }

    // The file is fetched on a thread of its own (the download blocks); the outcome comes back
    // to the loop. A restart in the middle starts the download again: the journal says
    // "applying", nothing was applied, so the resumed job comes back here (and in AWS, with a
    // fresh presigned URL in its document).
    void download(const std::string& job_id, const ConfigDocument& doc) {
        end_download();
        std::error_code ec;
        std::filesystem::create_directories(download_dir_, ec);
        if (ec) {
            report_->fail("download_failed",
                          "cannot make the directory " + download_dir_ + ": " + ec.message(),
                          job_details({{"retryable", "false"}}));
            return;
        }
        report_->progress(job_details({{"step", "downloading"}}), kApplying);
        host().notice("job ", job_id, ": downloading its configuration from ", https::redacted(doc.url));
        https::DownloadRequest rq;
        rq.url = doc.url;
        rq.path = download_dir_ + "/config-" + job_id + ".toml";
        rq.max_bytes = max_toml_bytes_;
        rq.ca_file = ca_;
        rq.io_timeout = download_timeout_;
        cancel_download_ = false;
        download_thread_ = std::thread([this, rq, job_id, digest = doc.sha256] {
            auto outcome = https::download(rq, cancel_download_);
            try {
                host().post(
                    [this, rq, job_id, digest, outcome] { on_downloaded(job_id, rq.path, digest, outcome); });
            } catch (const sdk::Error&) {  // the gateway is stopping: the job resumes after the restart
            }
        });
    }

    void on_downloaded(const std::string& job_id, const std::string& path, const std::string& digest,
                       const https::DownloadOutcome& outcome) {
        end_download();
        if (!report_ || report_->ended() || job_id != job_id_) return;
        if (!outcome.ok) {
            host().warning("job ", job_id, ": ", outcome.error);
            report_->fail("download_failed", outcome.error.substr(0, kMaxDetail),
                          job_details({{"retryable", outcome.retryable ? "true" : "false"}}));
            return;
        }
        std::string toml;
        {
            std::ifstream in(path, std::ios::binary);
            std::ostringstream text;
            text << in.rdbuf();
            toml = text.str();
        }
        common::remove_file(path);
        if (outcome.sha256 != digest) {
            report_->fail("digest_mismatch", "the downloaded configuration's SHA-256 is " + outcome.sha256 +
                                                 ", not the job document's " + digest +
                                                 "; nothing was changed");
            return;
        }
        if (toml.empty()) {
            report_->fail("invalid_config", "the downloaded configuration is empty; nothing was changed");
            return;
        }
        apply_text(job_id, toml);
    }

    void end_download() noexcept {
        cancel_download_ = true;
        if (download_thread_.joinable() && download_thread_.get_id() != std::this_thread::get_id())
            download_thread_.join();
    }

    void apply_text(const std::string& job_id, const std::string& toml) {
        // Journalled (the jobs processor saves the resume state as it takes this report, which is
        // on the loop before the reload the apply asks for): the new configuration's handler
        // resumes the job.
        report_->progress(job_details({{"step", "applying"}}), kApplying);
        std::vector<std::string> problems;
        try {
            problems = sdk::apply_config(host(), job_id, toml, trial_);
        } catch (const sdk::Error& e) {
            report_->fail("apply_failed", e.what());
            return;
        }
        if (!problems.empty()) {
            refused_.add();
            host().warning("job ", job_id, ": the configuration has ", problems.size(),
                           " problem(s); nothing changed");
            report_->fail("invalid_config",
                          "the configuration has " + std::to_string(problems.size()) +
                              " problem(s); nothing was changed",
                          job_details({{"problems", problem_lines(problems)}}));
            return;
        }
        applied_.add();
        host().notice("job ", job_id, ": configuration applied on trial; the gateway reloads");
        // The reload stops this instance; the new configuration's handler resumes the job.
    }

    void resume(const sdk::Job& job) {
        std::string reason;
        switch (sdk::config_trial(host(), job.id, reason)) {
            case sdk::ConfigTrial::none:
                // Stopped between the journal and the apply: apply it now.
                host().notice("job ", job.id,
                              ": its configuration was not applied before the restart; applying it");
                apply(job);
                return;
            case sdk::ConfigTrial::confirmed:
                report_->succeed(job_details({{"config", "applied"}}));
                return;
            case sdk::ConfigTrial::rolled_back:
                rolled_back_.add();
                report_->fail("rolled_back", reason.substr(0, kMaxDetail));
                return;
            case sdk::ConfigTrial::pending:
                break;
        }
        host().notice("job ", job.id, ": waiting for ", connection_,
                      " to connect with the new configuration");
        link_ =
            host().subscribe_events("$iotgw/instance/" + connection_ + "/link",
                                    [this](std::string_view, std::string_view payload) { on_link(payload); });
    }

    void on_link(std::string_view payload) {
        sdk::MessageDocument doc;
        sdk::parse_json(doc, payload);  // on failure doc is Null: ignored below
        if (!doc.IsObject()) return;
        const auto it = doc.FindMember("connected");
        if (it == doc.MemberEnd() || !it->value.IsBool() || !it->value.GetBool()) return;
        if (!report_ || report_->ended()) return;
        link_.reset();
        try {
            sdk::confirm_config(host(), job_id_);
        } catch (const sdk::Error& e) {
            rolled_back_.add();
            report_->fail("rolled_back", std::string(e.what()).substr(0, kMaxDetail));
            return;
        }
        confirmed_.add();
        report_->succeed(job_details({{"config", "applied"}}));
    }

    const std::string connection_;
    const std::chrono::milliseconds trial_;
    const size_t max_toml_bytes_;
    const std::string download_dir_;
    const std::string ca_;
    const std::chrono::milliseconds download_timeout_;
    std::atomic<bool> cancel_download_{false};
    std::thread download_thread_;
    sdk::Counter applied_, confirmed_, refused_, rolled_back_;
    std::string job_id_;
    std::optional<sdk::JobReport> report_;
    std::optional<sdk::EventSubscription> link_;
};

}  // namespace
}  // namespace iotgw::plugins::config

IOTGW_DECLARE_PLUGIN(
    iotgw::plugins::config::ConfigHandler,
    {.abi_major = 1,
     .abi_minor = 3,
     .name = "config",
     .version = "1.0.0",
     .description = "Job handler of the operation \"config\": checks a new gateway configuration, "
                    "applies it on trial and keeps it once the connection is back, else rolls back.",
     .fields = iotgw::plugins::config::kFields})
