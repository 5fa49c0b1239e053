// The `jobs` processor end to end: the real `iotgw` binary with the `health` job handler against
// localcore's Jobs API (mosquitto + the localcore plugin, X.509 and the AWS IoT policies), jobs
// made with `localcore create-job` as an operator would, their outcome read with `describe-job`.
#include "jobs_localcore_fixture.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <string>
#include <thread>

namespace localcore::conformance {
namespace {

TEST_F(JobsLocalCore, UnknownOperationsAndBadDocumentsAreRejectedWithTheReason) {
    start_gateway();
    create_job("reboot-1", R"({"operation":"reboot"})");
    auto done = wait_status("reboot-1", "REJECTED");
    ASSERT_TRUE(done) << gw_->log();
    EXPECT_EQ(json_str(parse_json(*done), {"statusDetails", "reason"}), "unknown_operation") << *done;
    EXPECT_NE(json_str(parse_json(*done), {"statusDetails", "message"}).value_or("").find("it has: health, slow"),
              std::string::npos)
        << *done;

    create_job("no-op-1", R"({"target":"x"})");
    done = wait_status("no-op-1", "REJECTED");
    ASSERT_TRUE(done) << gw_->log();
    EXPECT_EQ(json_str(parse_json(*done), {"statusDetails", "reason"}), "invalid_document") << *done;

    // The gateway goes on: the next job is carried out.
    create_job("health-2", R"({"operation":"health"})");
    EXPECT_TRUE(wait_status("health-2", "SUCCEEDED")) << gw_->log();
}

TEST_F(JobsLocalCore, JobsQueuedWhileTheGatewayWasDownAreTakenOneAfterAnother) {
    create_job("health-a", R"({"operation":"health"})");
    create_job("health-b", R"({"operation":"health"})");
    start_gateway();
    EXPECT_TRUE(wait_status("health-a", "SUCCEEDED")) << gw_->log();
    EXPECT_TRUE(wait_status("health-b", "SUCCEEDED")) << gw_->log();
}

// The gateway killed in the middle of a job (a power loss; an update restarts it on purpose):
// the journal keeps the execution, and the next start gives it back to its handler, which goes on
// from the last step it reported instead of starting over or leaving it IN_PROGRESS.
TEST_F(JobsLocalCore, AJobInterruptedByAKillIsResumedWhereItStopped) {
    start_gateway();
    create_job("slow-1", R"({"operation":"slow","steps":6})");
    // Wait until at least two steps were reported to the cloud.
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    std::string seen;
    while (std::chrono::steady_clock::now() < deadline) {
        seen = lc->cli({"describe-job", "--thing", "AMR-001", "--job-id", "slow-1"});
        const auto done = json_str(parse_json(seen), {"statusDetails", "done"});
        if (done && std::stoi(*done) >= 2) break;
        std::this_thread::sleep_for(100ms);
    }
    ASSERT_NE(seen.find("\"status\":\"IN_PROGRESS\""), std::string::npos) << seen << gw_->log();
    gw_->signal(SIGKILL);
    EXPECT_NE(gw_->wait_exit(5s), 0);
    ASSERT_TRUE(fs::exists(journal_)) << "no journal after the kill";

    start_gateway();
    const auto done = wait_status("slow-1", "SUCCEEDED", 30s);
    ASSERT_TRUE(done) << gw_->log();
    const auto resumed_from = json_str(parse_json(*done), {"statusDetails", "resumed_from"});
    ASSERT_TRUE(resumed_from) << *done;
    EXPECT_GE(std::stoi(*resumed_from), 2) << *done;
    EXPECT_TRUE(gw_->wait_for("resumed job slow-1 (slow) with slow", 1s)) << gw_->log();
    // The cloud's SUCCEEDED comes before its reply reaches the gateway, which removes the
    // journal only then: wait for the gateway's own line first.
    EXPECT_TRUE(gw_->wait_for("job slow-1 ended SUCCEEDED", 5s)) << gw_->log();
    EXPECT_FALSE(fs::exists(journal_));
}

// A handler that reports nothing within its step time (2 s here) is cancelled and the
// execution ends FAILED with the reason, not left IN_PROGRESS.
TEST_F(JobsLocalCore, AHandlerThatGoesSilentIsCancelledAndTheJobFails) {
    start_gateway();
    create_job("silent-1", R"({"operation":"slow","steps":3,"silent":true})");
    const auto done = wait_status("silent-1", "FAILED", 20s);
    ASSERT_TRUE(done) << gw_->log();
    EXPECT_EQ(json_str(parse_json(*done), {"statusDetails", "reason"}), "handler_timeout") << *done;
    // The handler is free again: the next job runs.
    create_job("health-3", R"({"operation":"health"})");
    EXPECT_TRUE(wait_status("health-3", "SUCCEEDED")) << gw_->log();
}

// An operator cancels a job the gateway is working on: its handler is cancelled, the journal
// removed, and the gateway takes the next job.
TEST_F(JobsLocalCore, AJobCancelledInTheCloudCancelsItsHandler) {
    start_gateway();
    create_job("slow-2", R"({"operation":"slow","steps":60})");
    ASSERT_TRUE(wait_status("slow-2", "IN_PROGRESS")) << gw_->log();
    lc->cli({"cancel-job", "--thing", "AMR-001", "--job-id", "slow-2"});
    create_job("health-4", R"({"operation":"health"})");
    EXPECT_TRUE(wait_status("health-4", "SUCCEEDED", 30s)) << gw_->log();
    EXPECT_TRUE(gw_->wait_for("job slow-2 ended in the cloud (CANCELED): its handler is cancelled", 1s))
        << gw_->log();
    EXPECT_TRUE(wait_status("slow-2", "CANCELED"));
}

}  // namespace
}  // namespace localcore::conformance
