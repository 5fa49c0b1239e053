// The cloud's step timeout, end to end: the real gateway and localcore, which enforces the
// stepTimeoutInMinutes the jobs processor asks for at start-next as AWS does (whole minutes, at
// least 1).
//
// A live, connected gateway never lets a step time out: it asks for its handler's step time
// rounded up to whole minutes, plus one, and fails a handler silent for its step time itself
// (handler_timeout, jobs_localcore_test.cpp). What the cloud's timeout is for is a gateway that
// cannot report: here the AMR loses the cloud (the broker is down; a Wi-Fi dead zone) while its
// handler works, for longer than the step timeout. So this test takes a minute and a bit.
#include "jobs_localcore_fixture.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

namespace localcore::conformance {
namespace {

// The handler finishes while the gateway is cut off; its SUCCEEDED waits in the journal. Back
// online, the gateway sends it, the cloud refuses it (the execution ended TIMED_OUT meanwhile),
// and the gateway drops the job, once, and takes the next one instead of retrying.
TEST_F(JobsLocalCore, AJobThatTimedOutInTheCloudWhileTheGatewayWasCutOffIsDroppedAndTheNextRuns) {
    start_gateway();
    create_job("slow-3", R"({"operation":"slow","steps":3})");
    ASSERT_TRUE(wait_status("slow-3", "IN_PROGRESS")) << gw_->log();
    lc->stop_broker();
    // The last update the cloud heard set the step deadline: now + 1 minute (the handler's 2 s
    // step rounded up, plus one). The handler goes on and ends without the cloud.
    const auto cut_off = std::chrono::steady_clock::now();
    ASSERT_TRUE(gw_->wait_for("job slow-3 succeeded", 10s)) << gw_->log();
    EXPECT_TRUE(fs::exists(journal_)) << "the end not yet accepted must be journalled";
    create_job("health-5", R"({"operation":"health"})");  // queued while the AMR is offline
    std::this_thread::sleep_until(cut_off + 61s);
    lc->start_broker();

    const auto timed_out = wait_status("slow-3", "TIMED_OUT", 20s);
    ASSERT_TRUE(timed_out) << gw_->log();
    // The late SUCCEEDED was refused (localcore: VersionMismatch, the timeout moved the version
    // on, with the TIMED_OUT state), not taken: none of the handler's final details.
    EXPECT_FALSE(json_has(parse_json(*timed_out), {"statusDetails", "steps"})) << *timed_out;
    EXPECT_TRUE(wait_status("health-5", "SUCCEEDED", 30s)) << gw_->log();
    EXPECT_TRUE(gw_->wait_for("job slow-3 ended in the cloud (TIMED_OUT)", 5s)) << gw_->log();
    EXPECT_FALSE(fs::exists(journal_)) << "the journal of a job the cloud ended is removed";

    // Dropped for good: nothing more about slow-3 after a few retry periods (2 s), and the
    // execution stays as the cloud ended it.
    const auto mentions = gw_->count("slow-3");
    std::this_thread::sleep_for(5s);
    EXPECT_EQ(gw_->count("slow-3"), mentions) << gw_->log();
    EXPECT_EQ(gw_->count("ended in the cloud"), 1U) << gw_->log();
    const auto later = wait_status("slow-3", "TIMED_OUT", 1s);
    ASSERT_TRUE(later);
    EXPECT_EQ(json_int(parse_json(*later), {"versionNumber"}),
              json_int(parse_json(*timed_out), {"versionNumber"}))
        << *later;
}

}  // namespace
}  // namespace localcore::conformance
