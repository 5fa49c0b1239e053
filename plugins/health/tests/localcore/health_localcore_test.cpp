// The `health` job handler end to end: the real `iotgw` binary with the `jobs` processor against
// localcore's Jobs API, a job {"operation":"health"} made with `localcore create-job` as an operator
// would, and the snapshot read back from the execution's status details with `describe-job`.
#include "config_text.hpp"
#include "gateway_process.hpp"
#include "localcore_fixture.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <string>
#include <thread>

namespace localcore::conformance {
namespace {

using iotgw::test::ConfigText;
using iotgw::test::jobs_ready_line;
using iotgw::test::start_gateway_process;

class HealthLocalCore : public LocalCoreTest {
protected:
    void TearDown() override {
        if (::testing::Test::HasFailure() && gw_) std::cerr << "--- gateway log:\n" << gw_->log() << "\n";
    }

    // The gateway with the health handler; `handler_fields` adds to its table.
    void start_gateway(const std::string& handler_fields) {
        const std::string toml =
            ConfigText()
                .raw("log_level = \"debug\"")  // the subscriptions are logged at debug
                .device_link(lc->amr1.cert, lc->amr1.key, lc->ca(), lc->port(), "mqtt_version = \"5\"")
                .raw("[job_handlers.health]\ntype = \"health\"\n" + handler_fields)
                .jobs("handlers = [\"health\"]\njournal = \"" +
                      (lc->fresh_path("journal") += ".json").string() + "\"\nretry = \"2s\"");
        gw_ = start_gateway_process(toml, lc->fresh_path("gateway") += ".toml",
                                    lc->fresh_path("gateway") += ".log");
        ASSERT_TRUE(gw_->wait_for(jobs_ready_line(), 15s)) << gw_->log();
    }

    // The execution of the health job `id` once it SUCCEEDED.
    std::optional<std::string> run_health_job(const std::string& id) {
        lc->create_job("AMR-001", id, R"({"operation":"health"})");
        return lc->wait_job_status("AMR-001", id, "SUCCEEDED");
    }

    std::unique_ptr<ChildProcess> gw_;
};

TEST_F(HealthLocalCore, TheSnapshotGivesVersionUptimeLinkCertificateAndMemory) {
    start_gateway("credentials = \"device\"");
    const auto done = run_health_job("health-1");
    ASSERT_TRUE(done) << gw_->log();
    const auto doc = parse_json(*done);
    EXPECT_EQ(json_str(doc, {"statusDetails", "version"}), IOTGW_VERSION) << *done;
    EXPECT_EQ(json_str(doc, {"statusDetails", "link_connected"}), "1") << *done;
    EXPECT_EQ(json_str(doc, {"statusDetails", "link_connects"}), "1") << *done;
    // scripts/dev-pki issues the device's certificate for 365 days from now.
    const int days = std::stoi(json_str(doc, {"statusDetails", "cert_days_left"}).value_or("-1"));
    EXPECT_TRUE(days == 364 || days == 365) << *done;
    // The process started moments ago and holds some memory.
    const int uptime = std::stoi(json_str(doc, {"statusDetails", "uptime_s"}).value_or("-1"));
    EXPECT_GE(uptime, 0) << *done;
    EXPECT_LT(uptime, 60) << *done;
    EXPECT_GT(std::stoi(json_str(doc, {"statusDetails", "rss_anon_kb"}).value_or("0")), 0) << *done;
    EXPECT_TRUE(gw_->wait_for("health report for job health-1", 1s)) << gw_->log();
}

TEST_F(HealthLocalCore, WithoutCredentialsTheCertificateIsLeftOut) {
    start_gateway("");
    const auto done = run_health_job("health-2");
    ASSERT_TRUE(done) << gw_->log();
    const auto doc = parse_json(*done);
    EXPECT_FALSE(json_str(doc, {"statusDetails", "cert_days_left"}).has_value()) << *done;
    EXPECT_EQ(json_str(doc, {"statusDetails", "version"}), IOTGW_VERSION) << *done;
}

}  // namespace
}  // namespace localcore::conformance
