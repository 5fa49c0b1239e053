// The `package` job handler end to end on the service's side: the real `iotgw` binary against
// localcore's Jobs API and a loopback HTTPS server holding the package. The root helper's side
// (`iotgw update run`, dpkg) has its own tests (InstallerTest) and runs with this handler under
// a booted systemd in scripts/test-service; here the test plays the helper: it takes the
// request the handler leaves and writes the record the helper would.
#include "config_text.hpp"
#include "gateway_process.hpp"
#include "localcore_fixture.hpp"
#include "test_support.hpp"
#include "update_test_keys.hpp"

#include <iotgw/core/sha256.hpp>

#include <gtest/gtest.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <random>
#include <regex>
#include <string>
#include <thread>

namespace localcore::conformance {
namespace {

using iotgw::test::ConfigText;
using iotgw::test::jobs_ready_line;
using iotgw::test::start_gateway_process;
namespace keys = iotgw::core::update::testkeys;

// The version the job installs: anything but the running gateway's own.
const std::string kNext = std::string(IOTGW_VERSION) + "+next";

using iotgw::test::read_text_file;

class PackageLocalCore : public LocalCoreTest {
protected:
    void SetUp() override {
        LocalCoreTest::SetUp();
        journal_ = lc->fresh_path("journal") += ".json";
        request_dir_ = lc->fresh_path("request");
        helper_dir_ = lc->fresh_path("helper");
        keys_dir_ = lc->fresh_path("keys");
        fs::create_directories(helper_dir_);
        fs::create_directories(keys_dir_);
        fs::permissions(keys_dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                       fs::perms::others_read | fs::perms::others_exec);
        keys::write_public_key(site_key_.get(), keys_dir_ / "site.pem");
        // A package: random bytes (the helper, not the service, reads it as a .deb).
        std::mt19937 rng(7);
        package_.resize(300'000);
        for (auto& c : package_) c = static_cast<char>(rng());
        start_file_server();
        std::ofstream(www_ / "iotgw.deb", std::ios::binary) << package_;
    }
    void TearDown() override {
        if (::testing::Test::HasFailure() && gw_) std::cerr << "--- gateway log:\n" << gw_->log() << "\n";
    }

    std::string config(const std::string& extra = "") const {
        return ConfigText()
            .raw("log_level = \"debug\"\nstop_timeout = \"2s\"")
            .device_link(lc->amr1.cert, lc->amr1.key, lc->ca(), lc->port(), "mqtt_version = \"5\"")
            .raw("[job_handlers.package]\ntype = \"package\"\nrequest_dir = \"" + request_dir_.string() +
                 "\"\nhelper_dir = \"" + helper_dir_.string() + "\"\nkeys_dir = \"" + keys_dir_.string() +
                 "\"\nca = \"" + lc->ca().string() + "\"\ndownload_timeout = \"3s\"\n" + extra)
            .jobs("handlers = [\"package\"]\njournal = \"" + journal_.string() + "\"\nretry = \"2s\"")
            .text();
    }

    void launch_gateway(const std::string& extra = "") {
        gw_ = start_gateway_process(config(extra), lc->fresh_path("gateway") += ".toml",
                                    lc->fresh_path("gateway") += ".log");
    }
    void start_gateway(const std::string& extra = "") {
        launch_gateway(extra);
        ASSERT_TRUE(gw_->wait_for(jobs_ready_line(), 15s)) << gw_->log();
    }

    void start_file_server() {
        www_ = lc->fresh_path("www");
        fs::create_directories(www_);
        auto server = lc->start_file_server(www_);
        https_server_ = std::move(server.process);
        file_base_ = server.base_url;
        ASSERT_FALSE(file_base_.empty());
    }

    // The job document an operator makes with `iotgw update verify`'s help: URL, version, size,
    // SHA-256 and the signature, here over `signed_bytes` by `key`.
    std::string document(const std::string& url, EVP_PKEY* key, const std::string& signed_bytes,
                         const std::string& version = kNext, int confirm = 60) const {
        rapidjson::StringBuffer out;
        rapidjson::Writer<rapidjson::StringBuffer> w(out);
        w.StartObject();
        w.Key("operation");
        w.String("package");
        w.Key("url");
        w.String(url.c_str());
        w.Key("version");
        w.String(version.c_str());
        w.Key("size");
        w.Uint64(package_.size());
        w.Key("sha256");
        const auto digest = iotgw::core::sha256_hex(package_);
        w.String(digest.c_str());
        w.Key("signature");
        const auto sig = keys::sign(key, signed_bytes);
        w.String(sig.c_str());
        w.Key("confirm_timeout");
        w.Int(confirm);
        w.EndObject();
        return out.GetString();
    }
    std::string good_document(const std::string& query = "") const {
        return document(file_base_ + "/iotgw.deb" + query, site_key_.get(), package_);
    }

    // What the root helper writes.
    void write_record(const std::string& job, const std::string& state, const std::string& version,
                      const std::string& reason = "") {
        const std::string text = R"({"job":")" + job + R"(","state":")" + state + R"(","version":")" +
                                 version + R"(","previous":")" IOTGW_VERSION R"(","reason":")" + reason +
                                 R"(","deadline":0})";
        std::ofstream(helper_dir_ / "state.json.tmp") << text;
        fs::rename(helper_dir_ / "state.json.tmp", helper_dir_ / "state.json");
    }

    std::optional<std::string> wait_status(const std::string& id, const std::string& status,
                                           std::chrono::seconds limit = 30s) {
        return lc->wait_job_status("AMR-001", id, status, limit);
    }

    bool wait_for_file(const fs::path& p, std::chrono::seconds limit) {
        for (auto end = std::chrono::steady_clock::now() + limit; std::chrono::steady_clock::now() < end;
             std::this_thread::sleep_for(100ms))
            if (fs::exists(p)) return true;
        return false;
    }

    // The job handed to the helper: the request names the job and carries its document, and the
    // staged package is byte for byte the one served.
    void expect_handed_over(const std::string& job) {
        ASSERT_TRUE(wait_for_file(request_dir_ / "request.json", 30s)) << gw_->log();
        const auto request = parse_json(read_text_file(request_dir_ / "request.json"));
        EXPECT_EQ(json_str(request, {"job"}), job);
        EXPECT_EQ(json_str(request, {"document", "version"}), kNext);
        EXPECT_TRUE(read_text_file(request_dir_ / (job + ".deb")) == package_)
            << "the staged package differs";
    }

    keys::PKey site_key_ = keys::new_key();
    std::string package_;
    std::unique_ptr<ChildProcess> gw_, https_server_;
    fs::path journal_, request_dir_, helper_dir_, keys_dir_, www_;
    std::string file_base_;
};

// Downloaded, verified and handed to the helper; the helper installs it, the service restarts
// (dpkg's restart, played here by stopping and starting the gateway), and a version that
// confirms in time is kept: the job is SUCCEEDED only after the helper has taken the confirmation.
TEST_F(PackageLocalCore, AVerifiedPackageIsHandedToTheHelperAndSucceedsOnceTheNewVersionConfirms) {
    start_gateway();
    lc->create_job("AMR-001", "up-1", good_document());
    expect_handed_over("up-1");
    std::optional<std::string> step;
    for (int i = 0; i < 50 && step != "installing"; ++i, std::this_thread::sleep_for(100ms)) {
        const auto running = wait_status("up-1", "IN_PROGRESS", 5s);
        ASSERT_TRUE(running);
        step = json_str(parse_json(*running), {"statusDetails", "step"});
    }
    EXPECT_EQ(step, "installing");

    // The helper takes the request and installs; dpkg restarts the service.
    fs::remove(request_dir_ / "request.json");
    fs::remove(request_dir_ / "up-1.deb");
    write_record("up-1", "installing", kNext);
    gw_->signal(SIGTERM);
    EXPECT_EQ(gw_->wait_exit(10s), 0);
    // Installed; the process that now starts is the new version (here the record names the
    // version this binary is, as it would after a real install).
    write_record("up-1", "installed", IOTGW_VERSION);
    start_gateway();
    ASSERT_TRUE(wait_for_file(request_dir_ / "confirm.json", 20s)) << gw_->log();
    const auto confirm = parse_json(read_text_file(request_dir_ / "confirm.json"));
    EXPECT_EQ(json_str(confirm, {"job"}), "up-1");
    EXPECT_EQ(json_str(confirm, {"version"}), kNext);
    std::this_thread::sleep_for(2s);
    EXPECT_TRUE(wait_status("up-1", "IN_PROGRESS", 1s)) << "ended before the helper kept the package";
    write_record("up-1", "succeeded", IOTGW_VERSION);
    const auto done = wait_status("up-1", "SUCCEEDED");
    ASSERT_TRUE(done) << gw_->log();
}

// The helper's outcome reaches the job whichever process reads it: a failed dpkg and a rollback
// end the job FAILED with the helper's reason.
TEST_F(PackageLocalCore, AFailedInstallAndARollbackEndTheJobFailedWithTheHelpersReason) {
    start_gateway();
    lc->create_job("AMR-001", "up-fail", good_document());
    expect_handed_over("up-fail");
    fs::remove(request_dir_ / "request.json");
    write_record("up-fail", "failed", kNext, "version x could not be installed: dpkg said no");
    auto done = wait_status("up-fail", "FAILED");
    ASSERT_TRUE(done) << gw_->log();
    auto doc = parse_json(*done);
    EXPECT_EQ(json_str(doc, {"statusDetails", "reason"}), "install_failed") << *done;
    EXPECT_NE(json_str(doc, {"statusDetails", "message"}).value_or("").find("dpkg said no"),
              std::string::npos);

    // Rolled back after a restart: the kept version's handler resumes the job and ends it.
    lc->create_job("AMR-001", "up-back", good_document());
    expect_handed_over("up-back");
    fs::remove(request_dir_ / "request.json");
    gw_->signal(SIGTERM);
    EXPECT_EQ(gw_->wait_exit(10s), 0);
    write_record("up-back", "rolled_back", kNext,
                 "did not confirm before its deadline; 0.1.0 was installed back");
    start_gateway();
    done = wait_status("up-back", "FAILED");
    ASSERT_TRUE(done) << gw_->log();
    doc = parse_json(*done);
    EXPECT_EQ(json_str(doc, {"statusDetails", "reason"}), "rolled_back") << *done;
}

// Never install an unsigned or mis-signed artifact: a package that is not the one signed, and a
// signature by a key the site does not trust, end FAILED with nothing handed on or left behind.
TEST_F(PackageLocalCore, ATamperedPackageOrAnUntrustedSignatureIsDeletedAndNeverHandedOn) {
    start_gateway();
    // One byte changed after signing: size as claimed, digest and signature not.
    std::string other = package_;
    other[1000] ^= 1;
    std::ofstream(www_ / "tampered.deb", std::ios::binary) << other;
    lc->create_job("AMR-001", "up-tampered",
                   document(file_base_ + "/tampered.deb", site_key_.get(), package_));
    auto done = wait_status("up-tampered", "FAILED");
    ASSERT_TRUE(done) << gw_->log();
    auto doc = parse_json(*done);
    EXPECT_EQ(json_str(doc, {"statusDetails", "reason"}), "verification_failed") << *done;

    const auto stranger = keys::new_key();
    lc->create_job("AMR-001", "up-stranger", document(file_base_ + "/iotgw.deb", stranger.get(), package_));
    done = wait_status("up-stranger", "FAILED");
    ASSERT_TRUE(done) << gw_->log();
    doc = parse_json(*done);
    EXPECT_EQ(json_str(doc, {"statusDetails", "reason"}), "verification_failed") << *done;
    EXPECT_NE(json_str(doc, {"statusDetails", "message"}).value_or("").find("signature"), std::string::npos)
        << *done;

    EXPECT_FALSE(fs::exists(request_dir_ / "request.json"));
    for (const auto& e : fs::directory_iterator(request_dir_)) ADD_FAILURE() << "left behind: " << e.path();
}

// Refused before a byte is downloaded: a document that is not a package job's, a version older
// than the running one, a package larger than the handler takes, and a site without a trusted
// key.
TEST_F(PackageLocalCore, WhatCannotBeInstalledIsRefusedBeforeTheDownload) {
    start_gateway("max_package_bytes = 200000");
    lc->create_job("AMR-001", "up-bad", R"({"operation":"package","url":"https://x/y.deb","version":"1"})");
    auto done = wait_status("up-bad", "REJECTED");
    ASSERT_TRUE(done) << gw_->log();

    lc->create_job("AMR-001", "up-old",
                   document(file_base_ + "/iotgw.deb", site_key_.get(), package_, "0.0.1"));
    done = wait_status("up-old", "FAILED");
    ASSERT_TRUE(done) << gw_->log();
    EXPECT_EQ(json_str(parse_json(*done), {"statusDetails", "reason"}), "downgrade_refused") << *done;
    EXPECT_NE(json_str(parse_json(*done), {"statusDetails", "message"})
                  .value_or("")
                  .find(std::string("older than the running ") + IOTGW_VERSION),
              std::string::npos)
        << *done;

    lc->create_job("AMR-001", "up-big", good_document());
    done = wait_status("up-big", "FAILED");
    ASSERT_TRUE(done) << gw_->log();
    EXPECT_EQ(json_str(parse_json(*done), {"statusDetails", "reason"}), "package_too_large") << *done;

    gw_->signal(SIGTERM);
    EXPECT_EQ(gw_->wait_exit(10s), 0);
    fs::remove(keys_dir_ / "site.pem");
    start_gateway();
    lc->create_job("AMR-001", "up-nokey", good_document());
    done = wait_status("up-nokey", "FAILED");
    ASSERT_TRUE(done) << gw_->log();
    EXPECT_EQ(json_str(parse_json(*done), {"statusDetails", "reason"}), "no_trusted_key") << *done;
    EXPECT_EQ(https_server_->log().find("GET /iotgw.deb"), std::string::npos) << "downloaded anyway";
}

// kill -9 in the middle of the download: after the restart the job resumes the download from
// what was saved (a Range request), and is handed on as if nothing had happened.
TEST_F(PackageLocalCore, AGatewayKilledInTheDownloadResumesItAfterTheRestart) {
    start_gateway();
    lc->create_job("AMR-001", "up-killed", good_document("?stall_once_after=100000"));
    ASSERT_TRUE(gw_->wait_for("downloading version", 20s)) << gw_->log();
    // The server stalls after 100,000 bytes (the download's 3 s read timeout is not reached):
    // what is on disk by then (the writes are buffered) is what the next start resumes from.
    const auto part = request_dir_ / "up-killed.deb.part";
    for (int i = 0; i < 20 && !(fs::exists(part) && fs::file_size(part) >= 50'000); ++i)
        std::this_thread::sleep_for(100ms);
    ASSERT_TRUE(fs::exists(part) && fs::file_size(part) >= 50'000) << gw_->log();
    gw_->signal(SIGKILL);
    EXPECT_NE(gw_->wait_exit(5s), 0);
    const auto kept = fs::file_size(part);
    start_gateway();
    expect_handed_over("up-killed");
    EXPECT_NE(https_server_->log().find("range=bytes=" + std::to_string(kept) + "-"), std::string::npos)
        << https_server_->log();
}

// AWS makes a document's presigned URL afresh at each delivery, valid for an hour at most: a job
// resumed after a long outage must not use the URL it journalled. Here the journalled one is made
// to answer 403 (an expired URL); the resumed job downloads from the cloud's document.
TEST_F(PackageLocalCore, AResumedJobDownloadsFromTheDocumentTheCloudSendsAgain) {
    start_gateway();
    lc->create_job("AMR-001", "up-fresh", good_document("?stall_once_after=100000"));
    ASSERT_TRUE(gw_->wait_for("downloading version", 20s)) << gw_->log();
    gw_->signal(SIGKILL);
    EXPECT_NE(gw_->wait_exit(5s), 0);
    std::string journal = read_text_file(journal_);
    const auto at = journal.find("stall_once_after=100000");
    ASSERT_NE(at, std::string::npos) << journal;
    journal.replace(at, std::string("stall_once_after=100000").size(), "status=403");
    std::ofstream(journal_, std::ios::trunc) << journal;
    start_gateway();
    expect_handed_over("up-fresh");  // with the journalled URL it would have failed download_failed
    EXPECT_EQ(gw_->count("HTTP 403"), 0u) << gw_->log();
}

// A download that breaks off (here: the server stops sending, and the 3 s read timeout ends the
// attempt) is tried again a few seconds later from where it stopped, within the same run.
TEST_F(PackageLocalCore, ADownloadThatBreaksOffIsResumedByTheNextAttempt) {
    start_gateway();
    lc->create_job("AMR-001", "up-retry", good_document("?stall_once_after=100000"));
    expect_handed_over("up-retry");
    EXPECT_TRUE(gw_->wait_for("attempt 2 of 4", 1s)) << gw_->log();
    EXPECT_NE(https_server_->log().find("range=bytes=100000-"), std::string::npos) << https_server_->log();
}

// The helper never takes the request (iotgw-update.path not enabled): the job does not wait
// forever; it ends FAILED and the request is withdrawn so a late helper installs nothing.
TEST_F(PackageLocalCore, ARequestTheHelperNeverTakesEndsTheJobAndIsWithdrawn) {
    start_gateway("install_timeout = \"10s\"");
    // confirm_timeout counts too: the helper could be waiting for the new version's confirmation.
    lc->create_job("AMR-001", "up-alone",
                   document(file_base_ + "/iotgw.deb", site_key_.get(), package_, kNext, 30));
    expect_handed_over("up-alone");
    const auto done = wait_status("up-alone", "FAILED", 60s);
    ASSERT_TRUE(done) << gw_->log();
    EXPECT_EQ(json_str(parse_json(*done), {"statusDetails", "reason"}), "helper_not_run") << *done;
    EXPECT_FALSE(fs::exists(request_dir_ / "request.json"));
    EXPECT_FALSE(fs::exists(request_dir_ / "up-alone.deb"));
}

}  // namespace
}  // namespace localcore::conformance
