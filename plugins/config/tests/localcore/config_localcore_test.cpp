// The `config` job handler end to end: the real `iotgw` binary, started as the package starts it
// with --remote-config, against localcore's Jobs API. Jobs made with `localcore create-job` carry
// a whole new gateway configuration; the tests read the outcome with `describe-job` and look at
// the files in the state directory and at what the gateway runs after a restart.
#include "config_text.hpp"
#include "gateway_process.hpp"
#include "localcore_fixture.hpp"
#include "test_support.hpp"

#include <iotgw/core/sha256.hpp>

#include <gtest/gtest.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <regex>
#include <string>
#include <thread>

namespace localcore::conformance {
namespace {

using iotgw::test::ConfigText;
using iotgw::test::jobs_ready_line;
using iotgw::test::start_gateway_process;

using iotgw::test::read_text_file;

class ConfigLocalCore : public LocalCoreTest {
protected:
    void SetUp() override {
        LocalCoreTest::SetUp();
        journal_ = lc->fresh_path("journal") += ".json";
        remote_ = lc->fresh_path("site") += ".toml";
        downloads_ = lc->fresh_path("downloads");
    }
    void TearDown() override {
        if (::testing::Test::HasFailure() && gw_) std::cerr << "--- gateway log:\n" << gw_->log() << "\n";
    }

    // A gateway configuration with the jobs processor and the config handler; `port` is the
    // broker's, `extra` more TOML at the end (a table of its own).
    std::string config(int port, const std::string& extra = "") const {
        return ConfigText()
            .raw("log_level = \"debug\"\nstop_timeout = \"2s\"")
            .device_link(lc->amr1.cert, lc->amr1.key, lc->ca(), port, "mqtt_version = \"5\"")
            .raw("[job_handlers.config]\ntype = \"config\"\ntrial = \"10s\"\ndownload_dir = \"" +
                 downloads_.string() + "\"\nca = \"" + lc->ca().string() + "\"\ndownload_timeout = \"5s\"")
            .jobs("handlers = [\"config\"]\njournal = \"" + journal_.string() + "\"\nretry = \"2s\"")
            .raw(extra)
            .text();
    }

    // The gateway as the package's unit starts it (with --remote-config unless `remote` is false).
    void launch_gateway(bool remote = true) {
        packaged_ = lc->fresh_path("packaged") += ".toml";
        std::vector<std::string> extra;
        if (remote) extra = {"--remote-config", remote_.string()};
        gw_ =
            start_gateway_process(config(lc->port()), packaged_, lc->fresh_path("gateway") += ".log", extra);
    }

    // Launched, and ready for jobs.
    void start_gateway(bool remote = true) {
        launch_gateway(remote);
        ASSERT_TRUE(gw_->wait_for(jobs_ready_line(), 15s)) << gw_->log();
    }

    void create_config_job(const std::string& id, const std::string& toml) {
        rapidjson::StringBuffer out;
        rapidjson::Writer<rapidjson::StringBuffer> w(out);
        w.StartObject();
        w.Key("operation");
        w.String("config");
        w.Key("toml");
        w.String(toml.c_str(), static_cast<rapidjson::SizeType>(toml.size()));
        w.EndObject();
        lc->create_job("AMR-001", id, out.GetString());
    }

    std::optional<std::string> wait_status(const std::string& id, const std::string& status,
                                           std::chrono::seconds limit = 30s) {
        return lc->wait_job_status("AMR-001", id, status, limit);
    }

    // A loopback HTTPS server for configurations named by URL, its certificate signed by the
    // CA the broker's is (the handler's `ca`); the files it serves are in www_.
    void start_file_server() {
        www_ = lc->fresh_path("www");
        fs::create_directories(www_);
        auto server = lc->start_file_server(www_);
        https_server_ = std::move(server.process);
        file_base_ = server.base_url;
        ASSERT_FALSE(file_base_.empty());
    }

    void create_config_job_by_url(const std::string& id, const std::string& url, const std::string& sha256) {
        rapidjson::StringBuffer out;
        rapidjson::Writer<rapidjson::StringBuffer> w(out);
        w.StartObject();
        w.Key("operation");
        w.String("config");
        w.Key("url");
        w.String(url.c_str(), static_cast<rapidjson::SizeType>(url.size()));
        w.Key("sha256");
        w.String(sha256.c_str(), static_cast<rapidjson::SizeType>(sha256.size()));
        w.EndObject();
        lc->create_job("AMR-001", id, out.GetString());
    }

    std::unique_ptr<ChildProcess> gw_, https_server_;
    fs::path journal_, remote_, packaged_, downloads_, www_;
    std::string file_base_;
};

// A new configuration (here: one more instance, a tick source, and its pipeline) is checked, applied, kept
// once the connection is back under it, and still runs after a restart.
TEST_F(ConfigLocalCore, AValidConfigurationIsAppliedKeptAndRunsAfterARestart) {
    start_gateway();
    const std::string next = config(lc->port(),
                                    "[sources.pulse]\ntype = \"tick\"\ntopic = \"amr/${thing}/pulse\"\n"
                                    "interval = \"1h\"\n\n[[pipelines]]\nname = \"pulse\"\nfrom = \"pulse\"\n"
                                    "to = [\"cloud\"]");
    create_config_job("config-1", next);
    const auto done = wait_status("config-1", "SUCCEEDED");
    ASSERT_TRUE(done) << gw_->log();
    EXPECT_EQ(json_str(parse_json(*done), {"statusDetails", "config"}), "applied") << *done;
    EXPECT_EQ(read_text_file(remote_), next);
    EXPECT_NE(read_text_file(fs::path(remote_) += ".state").find("\"state\":\"confirmed\""),
              std::string::npos);
    EXPECT_TRUE(gw_->wait_for("reloading " + remote_.string(), 1s)) << gw_->log();
    EXPECT_TRUE(gw_->wait_for("job config-1's configuration confirmed: it stays", 1s)) << gw_->log();
    // The journal goes once the cloud's reply to the final update reached the gateway.
    EXPECT_TRUE(gw_->wait_for("job config-1 ended SUCCEEDED", 5s)) << gw_->log();
    EXPECT_FALSE(fs::exists(journal_));

    gw_->signal(SIGTERM);
    EXPECT_EQ(gw_->wait_exit(10s), 0);
    start_gateway();
    EXPECT_TRUE(gw_->wait_for("running the configuration applied by a job: " + remote_.string(), 1s))
        << gw_->log();
    EXPECT_TRUE(gw_->wait_for("started 5 instance(s)", 1s)) << gw_->log();

    // A kept configuration that no longer loads (here: damaged on disk; after an update, one
    // naming a plugin that was removed) is set aside for the packaged one, loudly.
    gw_->signal(SIGTERM);
    EXPECT_EQ(gw_->wait_exit(10s), 0);
    std::ofstream(remote_, std::ios::trunc) << "[gateway\n";
    start_gateway();
    EXPECT_TRUE(gw_->wait_for("does not load; running the packaged " + packaged_.string() + " instead", 1s))
        << gw_->log();
    EXPECT_TRUE(gw_->wait_for("started 4 instance(s)", 1s)) << gw_->log();
}

// A configuration with a mistake ends the job FAILED with the checker's file:line lines; nothing
// is written and the gateway goes on with what it ran.
TEST_F(ConfigLocalCore, AnInvalidConfigurationFailsWithItsProblemsAndChangesNothing) {
    start_gateway();
    const std::string bad = config(
        lc->port(), "[sources.pulse]\ntype = \"tick\"\ntopic = \"amr/${thing}/pulse\"\ninterval = \"often\"");
    create_config_job("config-bad", bad);
    const auto done = wait_status("config-bad", "FAILED");
    ASSERT_TRUE(done) << gw_->log();
    const auto doc = parse_json(*done);
    EXPECT_EQ(json_str(doc, {"statusDetails", "reason"}), "invalid_config") << *done;
    const std::string problems = json_str(doc, {"statusDetails", "problems"}).value_or("");
    // The builder's text has the bad interval on its last line.
    const auto lines = std::count(bad.begin(), bad.end(), '\n') + (bad.back() == '\n' ? 0 : 1);
    EXPECT_NE(problems.find(remote_.string() + ":" + std::to_string(lines) + ":"), std::string::npos)
        << problems;
    EXPECT_NE(problems.find("interval"), std::string::npos) << problems;
    EXPECT_FALSE(fs::exists(remote_));
    EXPECT_FALSE(fs::exists(fs::path(remote_) += ".state"));
    EXPECT_FALSE(gw_->wait_for("reloading", 1s)) << gw_->log();
}

// A configuration that cannot reach the cloud (a wrong port) is rolled back by the gateway when
// its trial (10 s here) ends without a connection; the previous configuration reconnects and its
// handler ends the job FAILED with the reason.
TEST_F(ConfigLocalCore, AConfigurationThatLosesTheConnectionIsRolledBack) {
    start_gateway();
    create_config_job("config-lost", config(1));
    ASSERT_TRUE(gw_->wait_for("reloading " + remote_.string(), 20s)) << gw_->log();
    const auto done = wait_status("config-lost", "FAILED", 40s);
    ASSERT_TRUE(done) << gw_->log();
    const auto doc = parse_json(*done);
    EXPECT_EQ(json_str(doc, {"statusDetails", "reason"}), "rolled_back") << *done;
    EXPECT_NE(
        json_str(doc, {"statusDetails", "message"}).value_or("").find("not confirmed before its trial ended"),
        std::string::npos)
        << *done;
    EXPECT_FALSE(fs::exists(remote_)) << "the packaged configuration runs again";
    EXPECT_TRUE(gw_->wait_for("remote configuration rolled back", 1s)) << gw_->log();
}

// Killed while a configuration that cannot connect is on trial, and down past its trial: the
// next start rolls it back before it loads anything, and the job still ends FAILED.
TEST_F(ConfigLocalCore, AnOverdueTrialIsRolledBackAtTheNextStart) {
    start_gateway();
    create_config_job("config-killed", config(1));
    ASSERT_TRUE(gw_->wait_for("runs on trial: rolled back in", 20s)) << gw_->log();
    gw_->signal(SIGKILL);
    EXPECT_NE(gw_->wait_exit(5s), 0);
    ASSERT_TRUE(fs::exists(remote_));
    std::this_thread::sleep_for(11s);  // past the 10 s trial
    start_gateway();
    EXPECT_TRUE(gw_->wait_for("was not confirmed before its trial ended", 1s)) << gw_->log();
    const auto done = wait_status("config-killed", "FAILED");
    ASSERT_TRUE(done) << gw_->log();
    EXPECT_EQ(json_str(parse_json(*done), {"statusDetails", "reason"}), "rolled_back") << *done;
    EXPECT_FALSE(fs::exists(remote_));
}

// A configuration that crashes the gateway at every start (simulated with SIGKILL, each time
// well within the trial): the fourth start rolls it back before loading it.
TEST_F(ConfigLocalCore, AConfigurationTheGatewayKeepsCrashingWithIsRolledBack) {
    start_gateway();
    create_config_job("config-crash", config(1));
    ASSERT_TRUE(gw_->wait_for("runs on trial: rolled back in", 20s)) << gw_->log();
    for (int start = 1; start <= 3; ++start) {
        gw_->signal(SIGKILL);
        EXPECT_NE(gw_->wait_exit(5s), 0);
        launch_gateway();
        ASSERT_TRUE(gw_->wait_for("runs on trial: rolled back in", 10s)) << "start " << start << gw_->log();
    }
    gw_->signal(SIGKILL);
    EXPECT_NE(gw_->wait_exit(5s), 0);
    start_gateway();
    EXPECT_TRUE(gw_->wait_for("the gateway started 4 times with job config-crash's configuration", 1s))
        << gw_->log();
    const auto done = wait_status("config-crash", "FAILED");
    ASSERT_TRUE(done) << gw_->log();
    EXPECT_EQ(json_str(parse_json(*done), {"statusDetails", "reason"}), "rolled_back") << *done;
    EXPECT_FALSE(fs::exists(remote_));
}

// A configuration that cannot be written whole (here: the temporary file's name is taken by a
// directory; in the field, a full disk) ends the job FAILED at once. No trial is left pending
// for the next start to find, the configuration that ran before stays, and the next job works.
TEST_F(ConfigLocalCore, AConfigurationThatCannotBeWrittenLeavesNoTrialPending) {
    start_gateway();
    const std::string first = config(lc->port());
    create_config_job("config-first", first);
    ASSERT_TRUE(wait_status("config-first", "SUCCEEDED")) << gw_->log();
    ASSERT_TRUE(gw_->wait_for("job config-first ended SUCCEEDED", 5s)) << gw_->log();

    const fs::path blocker = fs::path(remote_) += ".tmp";
    fs::create_directory(blocker);
    create_config_job("config-unwritable", config(lc->port(), "# a comment makes it another text"));
    const auto failed = wait_status("config-unwritable", "FAILED");
    ASSERT_TRUE(failed) << gw_->log();
    const auto doc = parse_json(*failed);
    EXPECT_EQ(json_str(doc, {"statusDetails", "reason"}), "apply_failed") << *failed;
    EXPECT_NE(json_str(doc, {"statusDetails", "message"}).value_or("").find(blocker.string()),
              std::string::npos)
        << *failed;
    const std::string record = read_text_file(fs::path(remote_) += ".state");
    EXPECT_NE(record.find("\"state\":\"rolled_back\""), std::string::npos) << record;
    EXPECT_NE(record.find("could not be written"), std::string::npos) << record;
    EXPECT_EQ(read_text_file(remote_), first);
    EXPECT_FALSE(gw_->wait_for("reloading " + remote_.string(), 1s, 2)) << "no reload for the failed job";

    fs::remove(blocker);
    const std::string next = config(lc->port(), "# the next one");
    create_config_job("config-next", next);
    ASSERT_TRUE(wait_status("config-next", "SUCCEEDED")) << gw_->log();
    EXPECT_EQ(read_text_file(remote_), next);
}

// A configuration named by URL (in AWS, an S3 object behind a presigned URL) is downloaded over
// verified TLS, must have the document's SHA-256, and is then checked and applied like an inline
// one. Nothing of the download is left behind.
TEST_F(ConfigLocalCore, AConfigurationByUrlIsDownloadedVerifiedAndApplied) {
    start_file_server();
    start_gateway();
    const std::string next = config(lc->port(), "# fetched by URL");
    std::ofstream(www_ / "site.toml") << next;
    create_config_job_by_url("config-url", file_base_ + "/site.toml?X-Amz-Signature=secret",
                             iotgw::core::sha256_hex(next));
    const auto done = wait_status("config-url", "SUCCEEDED");
    ASSERT_TRUE(done) << gw_->log();
    EXPECT_EQ(read_text_file(remote_), next);
    EXPECT_TRUE(gw_->wait_for("downloading its configuration from " + file_base_ + "/site.toml", 1s))
        << gw_->log();
    EXPECT_FALSE(gw_->wait_for("X-Amz-Signature", 1s)) << "a presigned URL's query is never logged";
    ASSERT_TRUE(fs::exists(downloads_));
    EXPECT_TRUE(fs::is_empty(downloads_));
}

// A file that is not the one the job was made for (changed on the server, or a wrong link), and
// a file that cannot be fetched: FAILED with the reason, nothing applied.
TEST_F(ConfigLocalCore, AConfigurationByUrlThatIsNotTheOneNamedOrCannotBeFetchedChangesNothing) {
    start_file_server();
    start_gateway();
    const std::string meant = config(lc->port(), "# the one the job names");
    std::ofstream(www_ / "site.toml") << config(lc->port(), "# another one");
    create_config_job_by_url("config-other", file_base_ + "/site.toml", iotgw::core::sha256_hex(meant));
    auto done = wait_status("config-other", "FAILED");
    ASSERT_TRUE(done) << gw_->log();
    auto doc = parse_json(*done);
    EXPECT_EQ(json_str(doc, {"statusDetails", "reason"}), "digest_mismatch") << *done;
    EXPECT_FALSE(fs::exists(remote_));
    EXPECT_TRUE(fs::is_empty(downloads_));

    create_config_job_by_url("config-missing", file_base_ + "/nothing.toml?X-Amz-Signature=secret",
                             iotgw::core::sha256_hex(meant));
    done = wait_status("config-missing", "FAILED");
    ASSERT_TRUE(done) << gw_->log();
    doc = parse_json(*done);
    EXPECT_EQ(json_str(doc, {"statusDetails", "reason"}), "download_failed") << *done;
    const std::string message = json_str(doc, {"statusDetails", "message"}).value_or("");
    EXPECT_NE(message.find("HTTP 404"), std::string::npos) << *done;
    EXPECT_EQ(message.find("secret"), std::string::npos) << *done;
    EXPECT_EQ(json_str(doc, {"statusDetails", "retryable"}), "false") << *done;
    EXPECT_FALSE(fs::exists(remote_));
}

// A gateway started without --remote-config cannot apply configurations: the job fails with a
// sentence that says so, and nothing changes.
TEST_F(ConfigLocalCore, WithoutARemoteConfigFileTheJobFailsAndSaysWhy) {
    start_gateway(false);
    create_config_job("config-nowhere", config(lc->port()));
    const auto done = wait_status("config-nowhere", "FAILED");
    ASSERT_TRUE(done) << gw_->log();
    const auto doc = parse_json(*done);
    EXPECT_EQ(json_str(doc, {"statusDetails", "reason"}), "apply_failed") << *done;
    EXPECT_NE(json_str(doc, {"statusDetails", "message"}).value_or("").find("--remote-config"),
              std::string::npos)
        << *done;
}

}  // namespace
}  // namespace localcore::conformance
