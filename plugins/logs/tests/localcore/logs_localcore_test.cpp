// The `logs` job handler end to end: the real `iotgw` binary with the `jobs` processor against
// localcore's Jobs API, jobs made with `localcore create-job`, and the journal uploaded by PUT to
// a loopback HTTPS server as to a presigned S3 URL. There is no journald here, so `journalctl`
// is a script that answers as journalctl does (its arguments echoed, numbered entries, or a
// failure); the real journalctl of a booted systemd runs in scripts/test-service.
#include "config_text.hpp"
#include "gateway_process.hpp"
#include "localcore_fixture.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <string>

namespace localcore::conformance {
namespace {

using iotgw::test::ConfigText;
using iotgw::test::jobs_ready_line;
using iotgw::test::start_gateway_process;

using iotgw::test::read_text_file;

class LogsLocalCore : public LocalCoreTest {
protected:
    void SetUp() override {
        LocalCoreTest::SetUp();
        www_ = lc->fresh_path("www");
        fs::create_directories(www_);
        auto server = lc->start_file_server(www_);
        https_server_ = std::move(server.process);
        base_ = server.base_url;
        ASSERT_FALSE(base_.empty());
        ran_ = lc->fresh_path("journalctl-ran");
    }
    void TearDown() override {
        if (::testing::Test::HasFailure() && gw_) std::cerr << "--- gateway log:\n" << gw_->log() << "\n";
    }

    // A journalctl that marks that it ran, prints its arguments and `entries` journal lines
    // (numbered), then runs `tail` (e.g. a failure).
    fs::path journalctl(int entries, const std::string& tail = "") {
        const fs::path script = lc->fresh_path("journalctl");
        std::ofstream(script)
            << "#!/bin/sh\n"
            << "touch '" << ran_.string() << "'\n"
            << "echo \"args: $*\"\n"
            << "i=1; while [ $i -le " << entries << " ]; do "
            << "echo \"2026-12-06T08:00:00.000000+00:00 amr iotgw[42]: entry $i\"; i=$((i+1)); done\n"
            << tail << "\n";
        fs::permissions(script, fs::perms::owner_all);
        return script;
    }

    void start_gateway(const fs::path& journalctl_path, const std::string& extra = "") {
        const std::string toml =
            ConfigText()
                .raw("log_level = \"debug\"\nstop_timeout = \"2s\"")
                .device_link(lc->amr1.cert, lc->amr1.key, lc->ca(), lc->port(), "mqtt_version = \"5\"")
                .raw("[job_handlers.logs]\ntype = \"logs\"\njournalctl = \"" + journalctl_path.string() +
                     "\"\nca = \"" + lc->ca().string() + "\"\nupload_timeout = \"3s\"\n" + extra)
                .jobs("handlers = [\"logs\"]\njournal = \"" +
                      (lc->fresh_path("journal") += ".json").string() + "\"\nretry = \"2s\"");
        gw_ = start_gateway_process(toml, lc->fresh_path("gateway") += ".toml",
                                    lc->fresh_path("gateway") += ".log");
        ASSERT_TRUE(gw_->wait_for(jobs_ready_line(), 15s)) << gw_->log();
    }

    std::optional<std::string> run_job(const std::string& id, const std::string& document,
                                       const std::string& status) {
        lc->create_job("AMR-001", id, document);
        return lc->wait_job_status("AMR-001", id, status, std::chrono::seconds(30));
    }

    std::string url(const std::string& path_and_query) const { return base_ + path_and_query; }

    fs::path www_, ran_;
    std::string base_;
    std::unique_ptr<ChildProcess> https_server_, gw_;
};

TEST_F(LogsLocalCore, TheNewestLinesAreUploadedAndTheJobSaysHowMuch) {
    start_gateway(journalctl(50));
    const auto done = run_job("logs-1",
                              R"({"operation":"logs","url":")" +
                                  url("/logs/AMR-001/logs-1.log?X-Amz-Signature=secret") + R"(","lines":50})",
                              "SUCCEEDED");
    ASSERT_TRUE(done) << gw_->log();
    const std::string body = read_text_file(www_ / "logs" / "AMR-001" / "logs-1.log");
    // What it is, first: the version, the job and the exact command.
    EXPECT_EQ(body.rfind(std::string("# iotgw ") + IOTGW_VERSION + ", job logs-1, taken 20", 0), 0u) << body;
    EXPECT_NE(
        body.find("\nargs: --unit=iotgw.service --output=short-iso-precise --utc --no-pager --lines=50\n"),
        std::string::npos)
        << body;
    EXPECT_NE(body.find("iotgw[42]: entry 1\n"), std::string::npos) << body;
    EXPECT_NE(body.find("iotgw[42]: entry 50\n"), std::string::npos) << body;
    const auto doc = parse_json(*done);
    EXPECT_EQ(json_str(doc, {"statusDetails", "bytes"}), std::to_string(body.size())) << *done;
    EXPECT_EQ(json_str(doc, {"statusDetails", "lines"}), "51") << *done;  // the args line and 50 entries
    EXPECT_EQ(json_str(doc, {"statusDetails", "truncated"}), "false") << *done;
    EXPECT_TRUE(https_server_->wait_for("PUT /logs/AMR-001/logs-1.log bytes=" + std::to_string(body.size()) +
                                            " type=text/plain; charset=utf-8",
                                        1s))
        << https_server_->log();
    // A presigned URL's signature is never logged.
    EXPECT_EQ(gw_->log().find("secret"), std::string::npos) << gw_->log();
}

TEST_F(LogsLocalCore, ATimeRangeIsAskedInUtcAndACapKeepsTheNewestLines) {
    start_gateway(journalctl(2000));
    const auto done =
        run_job("logs-2",
                R"({"operation":"logs","url":")" + url("/logs-2.log") +
                    R"(","since":"2026-12-06T08:00:00Z","until":"2026-12-06T09:30:00Z","max_bytes":4096})",
                "SUCCEEDED");
    ASSERT_TRUE(done) << gw_->log();
    const std::string body = read_text_file(www_ / "logs-2.log");
    EXPECT_NE(body.find("--since=@1796544000 --until=@1796549400"), std::string::npos) << body.substr(0, 400);
    EXPECT_NE(body.find("bytes were left out to keep to 4096\n"), std::string::npos) << body.substr(0, 400);
    EXPECT_NE(body.find("entry 2000\n"), std::string::npos);
    EXPECT_EQ(body.find("entry 1\n"), std::string::npos) << "the oldest lines were kept";
    EXPECT_EQ(body.find("args:"), std::string::npos) << "the oldest lines were kept";
    EXPECT_LT(body.size(), 4096u + 400u) << "the cap (plus the three header lines) was not kept";
    EXPECT_EQ(json_str(parse_json(*done), {"statusDetails", "truncated"}), "true") << *done;
}

TEST_F(LogsLocalCore, ABadDocumentIsRejectedBeforeJournalctlRuns) {
    start_gateway(journalctl(5));
    auto done =
        run_job("logs-bad", R"({"operation":"logs","url":")" + url("/x.log") + R"(","line":5})", "REJECTED");
    ASSERT_TRUE(done) << gw_->log();
    EXPECT_NE(
        json_str(parse_json(*done), {"statusDetails", "message"}).value_or("").find("unknown key \"line\""),
        std::string::npos)
        << *done;
    done = run_job("logs-http", R"({"operation":"logs","url":"http://example.com/x.log"})", "REJECTED");
    ASSERT_TRUE(done) << gw_->log();
    EXPECT_FALSE(fs::exists(ran_)) << "journalctl ran for a rejected job";
    EXPECT_FALSE(fs::exists(www_ / "x.log"));
}

TEST_F(LogsLocalCore, AnUnreadableJournalFailsWithWhatJournalctlSaid) {
    start_gateway(journalctl(0, "echo 'Failed to get journal access: Permission denied' >&2; exit 1"));
    const auto done =
        run_job("logs-denied", R"({"operation":"logs","url":")" + url("/denied.log") + R"("})", "FAILED");
    ASSERT_TRUE(done) << gw_->log();
    const auto doc = parse_json(*done);
    EXPECT_EQ(json_str(doc, {"statusDetails", "reason"}), "journal_unreadable") << *done;
    EXPECT_NE(json_str(doc, {"statusDetails", "message"})
                  .value_or("")
                  .find("exited with status 1: Failed to get journal access: Permission denied"),
              std::string::npos)
        << *done;
    EXPECT_FALSE(fs::exists(www_ / "denied.log")) << "something was uploaded";
}

TEST_F(LogsLocalCore, ARefusedUploadFailsWithTheStatusAndAServerErrorIsTriedAgain) {
    start_gateway(journalctl(5));
    auto done =
        run_job("logs-403", R"({"operation":"logs","url":")" + url("/x.log?status=403") + R"("})", "FAILED");
    ASSERT_TRUE(done) << gw_->log();
    auto doc = parse_json(*done);
    EXPECT_EQ(json_str(doc, {"statusDetails", "reason"}), "upload_failed") << *done;
    EXPECT_EQ(json_str(doc, {"statusDetails", "retryable"}), "false") << *done;
    EXPECT_NE(json_str(doc, {"statusDetails", "message"}).value_or("").find("HTTP 403"), std::string::npos)
        << *done;

    // A 5xx three times (after 5 and 10 s): then FAILED, retryable for AWS's retry configuration.
    done =
        run_job("logs-503", R"({"operation":"logs","url":")" + url("/y.log?status=503") + R"("})", "FAILED");
    ASSERT_TRUE(done) << gw_->log();
    doc = parse_json(*done);
    EXPECT_EQ(json_str(doc, {"statusDetails", "retryable"}), "true") << *done;
    EXPECT_NE(json_str(doc, {"statusDetails", "message"}).value_or("").find("(attempt 3)"), std::string::npos)
        << *done;
    EXPECT_EQ(gw_->log().find("entry"), std::string::npos);
}

}  // namespace
}  // namespace localcore::conformance
