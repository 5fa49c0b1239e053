// The Jobs MQTT API in process (lib/jobs_service.hpp): each request topic answered on its own
// accepted/rejected topic, and timeouts that fell due ended and announced whatever the request.
// The same API through the broker, with an independent client: conformance/jobs_test.cpp.
#include "jobs_service.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace localcore {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kBase = "$aws/things/AMR-001/jobs/";

const OutboundMessage* find_topic(const std::vector<OutboundMessage>& out, const std::string& topic) {
    const auto it =
        std::find_if(out.begin(), out.end(), [&](const OutboundMessage& m) { return m.topic == topic; });
    return it == out.end() ? nullptr : &*it;
}

class JobsServiceTest : public ::testing::Test {
protected:
    iotgw::test::TempDir tmp;
    jobs::JobStore store{tmp.path()};
    JobsService service{tmp.path()};
};

TEST_F(JobsServiceTest, EachOperationIsAnsweredOnItsOwnTopic) {
    jobs::create_job(store, "AMR-001", "cfg-1", R"({"operation":"config"})", std::nullopt, 1000);

    auto out = service.handle(kBase + "get", "{}", 1'001'000);
    ASSERT_NE(find_topic(out, kBase + "get/accepted"), nullptr);
    EXPECT_THAT(find_topic(out, kBase + "get/accepted")->payload, HasSubstr(R"("jobId":"cfg-1")"));

    out = service.handle(kBase + "start-next", R"({"clientToken":"t1"})", 1'002'000);
    ASSERT_NE(find_topic(out, kBase + "start-next/accepted"), nullptr);
    EXPECT_THAT(find_topic(out, kBase + "start-next/accepted")->payload, HasSubstr(R"("clientToken":"t1")"));
    EXPECT_EQ(store.load("AMR-001").at(0).status, jobs::Status::in_progress);

    out = service.handle(kBase + "cfg-1/get", "{}", 1'003'000);
    ASSERT_NE(find_topic(out, kBase + "cfg-1/get/accepted"), nullptr);

    out = service.handle(kBase + "cfg-1/update", R"({"status":"SUCCEEDED","expectedVersion":2})", 1'004'000);
    ASSERT_NE(find_topic(out, kBase + "cfg-1/update/accepted"), nullptr)
        << (out.empty() ? "no reply" : out[0].topic + " " + out[0].payload);
    EXPECT_EQ(store.load("AMR-001").at(0).status, jobs::Status::succeeded);

    out = service.handle(kBase + "cfg-2/get", "{}", 1'005'000);
    ASSERT_NE(find_topic(out, kBase + "cfg-2/get/rejected"), nullptr);
    EXPECT_THAT(find_topic(out, kBase + "cfg-2/get/rejected")->payload, HasSubstr("ResourceNotFound"));

    out = service.handle(kBase + "cfg-1/delete", "{}", 1'006'000);
    ASSERT_NE(find_topic(out, kBase + "cfg-1/delete/rejected"), nullptr);
    EXPECT_THAT(find_topic(out, kBase + "cfg-1/delete/rejected")->payload, HasSubstr("InvalidTopic"));
}

// A device whose step timeout has run out and that then sends a malformed request: the timeout
// still ends the execution (saved) and the change is announced at once, not at the next tick.
TEST_F(JobsServiceTest, ARejectedRequestStillEndsATimedOutExecutionAndAnnouncesIt) {
    jobs::create_job(store, "AMR-001", "cfg-1", "{}", std::nullopt, 1000);
    auto out = service.handle(kBase + "start-next", R"({"stepTimeoutInMinutes":1})", 2'000'000);
    ASSERT_NE(find_topic(out, kBase + "start-next/accepted"), nullptr);

    out = service.handle(kBase + "get", "not json", 2'061'000);
    ASSERT_NE(find_topic(out, kBase + "get/rejected"), nullptr);
    EXPECT_THAT(find_topic(out, kBase + "get/rejected")->payload, HasSubstr("InvalidJson"));
    EXPECT_EQ(store.load("AMR-001").at(0).status, jobs::Status::timed_out) << "the timeout was not saved";
    const OutboundMessage* notify = find_topic(out, kBase + "notify");
    ASSERT_NE(notify, nullptr) << "the end of cfg-1 was not announced";
    EXPECT_THAT(notify->payload, Not(HasSubstr("cfg-1")));
}

// The same malformed request with nothing due: rejected, and nothing saved or announced.
TEST_F(JobsServiceTest, ARejectedRequestWithNothingDueChangesAndAnnouncesNothing) {
    jobs::create_job(store, "AMR-001", "cfg-1", "{}", std::nullopt, 1000);
    auto out = service.handle(kBase + "start-next", R"({"stepTimeoutInMinutes":5})", 2'000'000);
    ASSERT_NE(find_topic(out, kBase + "start-next/accepted"), nullptr);
    const jobs::Execution before = store.load("AMR-001").at(0);

    out = service.handle(kBase + "get", "not json", 2'061'000);
    ASSERT_EQ(out.size(), 1u) << out.back().topic;
    EXPECT_EQ(out[0].topic, kBase + "get/rejected");
    const jobs::Execution after = store.load("AMR-001").at(0);
    EXPECT_EQ(after.status, jobs::Status::in_progress);
    EXPECT_EQ(after.version, before.version);
    EXPECT_EQ(after.last_updated_at, before.last_updated_at);
}

// A device that reports after its step timeout ran out: the execution has ended TIMED_OUT, a
// late SUCCEEDED must not revive it, whatever version the device still holds.
TEST_F(JobsServiceTest, AReportAfterTheStepTimeoutCannotReviveTheExecution) {
    jobs::create_job(store, "AMR-001", "cfg-1", "{}", std::nullopt, 1000);
    auto out = service.handle(kBase + "start-next", R"({"stepTimeoutInMinutes":1})", 2'000'000);
    ASSERT_NE(find_topic(out, kBase + "start-next/accepted"), nullptr);
    const int64_t started_version = store.load("AMR-001").at(0).version;

    out = service.handle(
        kBase + "cfg-1/update",
        R"({"status":"SUCCEEDED","expectedVersion":)" + std::to_string(started_version) + "}", 2'061'000);
    const OutboundMessage* rejected = find_topic(out, kBase + "cfg-1/update/rejected");
    ASSERT_NE(rejected, nullptr) << (out.empty() ? "no reply" : out[0].topic + " " + out[0].payload);
    // The timeout moved the version on: the device's copy is stale.
    EXPECT_THAT(rejected->payload, HasSubstr("VersionMismatch"));
    EXPECT_EQ(store.load("AMR-001").at(0).status, jobs::Status::timed_out);

    out = service.handle(kBase + "cfg-1/update", R"({"status":"SUCCEEDED"})", 2'062'000);
    rejected = find_topic(out, kBase + "cfg-1/update/rejected");
    ASSERT_NE(rejected, nullptr) << (out.empty() ? "no reply" : out[0].topic + " " + out[0].payload);
    EXPECT_THAT(rejected->payload, HasSubstr("InvalidStateTransition"));
    EXPECT_EQ(store.load("AMR-001").at(0).status, jobs::Status::timed_out);
}

}  // namespace
}  // namespace localcore
