// The Jobs MQTT API through the broker (docs/aws-iot-core.md section 10), as AMR-001 with its
// device certificate and policy; jobs made with the `localcore` command as an operator would.
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "localcore_fixture.hpp"

namespace localcore::conformance {
namespace {

using Received = TestMqttClient::Received;
const std::string kJobs = "$aws/things/AMR-001/jobs";

class ConformanceJobs : public LocalCoreTest {
protected:
    void SetUp() override {
        LocalCoreTest::SetUp();
        device = lc->connect(lc->amr1, "AMR-001");
        ASSERT_TRUE(device);
        device->subscribe(kJobs + "/#");
    }

    // A job for AMR-001 made with `localcore create-job`; returns its id.
    std::string create_job(const std::string& id, const std::string& document) {
        const fs::path file = lc->fresh_path("job") += ".json";
        std::ofstream(file) << document;
        return trimmed_line(
            lc->cli({"create-job", "--thing", "AMR-001", "--document", file.string(), "--job-id", id}));
    }

    static std::string trimmed_line(std::string s) {
        while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
        return s;
    }

    // Publishes a request to kJobs/op and returns the accepted or rejected reply with `token`.
    std::optional<Received> request(const std::string& op, const std::string& token,
                                    const std::string& body = "") {
        const std::string payload =
            R"({"clientToken":")" + token + "\"" + (body.empty() ? "" : "," + body) + "}";
        device->publish(kJobs + "/" + op, payload, 1);
        return device->wait_for(
            [&](const Received& r) {
                return (r.topic == kJobs + "/" + op + "/accepted" ||
                        r.topic == kJobs + "/" + op + "/rejected") &&
                       json_str(parse_json(r.payload), {"clientToken"}) == token;
            },
            5s);
    }

    std::unique_ptr<TestMqttClient> device;
};

TEST_F(ConformanceJobs, ADeviceTakesItsJobReportsProgressAndEndsIt) {
    ASSERT_EQ(create_job("cfg-1", R"({"operation":"config","revision":7})"), "cfg-1");
    // The broker notices the new job at its next poll and tells the device.
    const auto next =
        device->wait_for([&](const Received& r) { return r.topic == kJobs + "/notify-next"; }, 5s);
    ASSERT_TRUE(next) << lc->broker_log();
    EXPECT_EQ(json_str(parse_json(next->payload), {"execution", "jobId"}), "cfg-1") << next->payload;
    EXPECT_EQ(json_int(parse_json(next->payload), {"execution", "jobDocument", "revision"}), 7)
        << next->payload;

    auto r = request("start-next", "s1", R"("stepTimeoutInMinutes":10,"statusDetails":{"step":"check"})");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->topic, kJobs + "/start-next/accepted") << r->payload;
    auto doc = parse_json(r->payload);
    EXPECT_EQ(json_str(doc, {"execution", "status"}), "IN_PROGRESS");
    EXPECT_EQ(json_str(doc, {"execution", "thingName"}), "AMR-001");
    EXPECT_EQ(json_int(doc, {"execution", "versionNumber"}), 2);
    EXPECT_EQ(json_str(doc, {"execution", "statusDetails", "step"}), "check");

    r = request(
        "cfg-1/update", "u1",
        R"("status":"IN_PROGRESS","expectedVersion":2,"statusDetails":{"step":"apply"},"includeJobExecutionState":true)");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->topic, kJobs + "/cfg-1/update/accepted") << r->payload;
    EXPECT_EQ(json_int(parse_json(r->payload), {"executionState", "versionNumber"}), 3) << r->payload;

    r = request("cfg-1/update", "u2", R"("status":"SUCCEEDED","statusDetails":{"result":"applied"})");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->topic, kJobs + "/cfg-1/update/accepted") << r->payload;

    // Ended: a further update is refused with the state; the description says SUCCEEDED.
    r = request("cfg-1/update", "u3", R"("status":"IN_PROGRESS")");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->topic, kJobs + "/cfg-1/update/rejected") << r->payload;
    doc = parse_json(r->payload);
    EXPECT_EQ(json_str(doc, {"code"}), "InvalidStateTransition");
    EXPECT_EQ(json_str(doc, {"executionState", "status"}), "SUCCEEDED");
    r = request("cfg-1/get", "g1");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->topic, kJobs + "/cfg-1/get/accepted") << r->payload;
    EXPECT_EQ(json_str(parse_json(r->payload), {"execution", "statusDetails", "result"}), "applied");
    EXPECT_NE(
        lc->cli({"describe-job", "--thing", "AMR-001", "--job-id", "cfg-1"}).find("\"status\":\"SUCCEEDED\""),
        std::string::npos);

    // Nothing pending any more: start-next answers without an execution, notify-next with none.
    r = request("start-next", "s2");
    ASSERT_TRUE(r);
    EXPECT_FALSE(parse_json(r->payload).HasMember("execution")) << r->payload;
    r = request("get", "l1");
    ASSERT_TRUE(r);
    doc = parse_json(r->payload);
    EXPECT_TRUE(doc["inProgressJobs"].IsArray() && doc["inProgressJobs"].Empty()) << r->payload;
    EXPECT_TRUE(doc["queuedJobs"].IsArray() && doc["queuedJobs"].Empty()) << r->payload;
}

TEST_F(ConformanceJobs, PendingJobsAreListedOldestFirstAndCancelEndsOne) {
    create_job("a-1", "{}");
    create_job("b-2", "{}");
    auto r = request("get", "l1");
    ASSERT_TRUE(r);
    auto doc = parse_json(r->payload);
    ASSERT_TRUE(doc["queuedJobs"].IsArray()) << r->payload;
    ASSERT_EQ(doc["queuedJobs"].Size(), 2u) << r->payload;
    EXPECT_EQ(json_str(doc["queuedJobs"][0], {"jobId"}), "a-1");
    EXPECT_FALSE(doc["queuedJobs"][0].HasMember("jobDocument")) << "summaries only";

    lc->cli({"cancel-job", "--thing", "AMR-001", "--job-id", "a-1"});
    // The cancel reaches the device as a notify without a-1.
    const auto notify = device->wait_for(
        [&](const Received& x) {
            if (x.topic != kJobs + "/notify") return false;
            const auto d = parse_json(x.payload);
            return d.HasMember("jobs") && d["jobs"].HasMember("QUEUED") && d["jobs"]["QUEUED"].Size() == 1;
        },
        5s);
    ASSERT_TRUE(notify) << lc->broker_log();
    r = request("a-1/update", "u1", R"("status":"IN_PROGRESS")");
    ASSERT_TRUE(r);
    EXPECT_EQ(json_str(parse_json(r->payload), {"code"}), "InvalidStateTransition") << r->payload;
    r = request("start-next", "s1");
    ASSERT_TRUE(r);
    EXPECT_EQ(json_str(parse_json(r->payload), {"execution", "jobId"}), "b-2") << r->payload;
}

TEST_F(ConformanceJobs, BadRequestsAreRejectedWithAWSsCodesAndTheBrokerStaysUp) {
    create_job("cfg-1", "{}");
    auto r = request("nope/update", "u0", R"("status":"IN_PROGRESS")");
    ASSERT_TRUE(r);
    EXPECT_EQ(json_str(parse_json(r->payload), {"code"}), "ResourceNotFound") << r->payload;
    r = request("cfg-1/update", "u1", R"("status":"QUEUED")");
    ASSERT_TRUE(r);
    EXPECT_EQ(json_str(parse_json(r->payload), {"code"}), "InvalidRequest") << r->payload;
    r = request("cfg-1/update", "u2", R"("status":"IN_PROGRESS","expectedVersion":9)");
    ASSERT_TRUE(r);
    EXPECT_EQ(json_str(parse_json(r->payload), {"code"}), "VersionMismatch") << r->payload;
    EXPECT_EQ(json_int(parse_json(r->payload), {"executionState", "versionNumber"}), 1) << r->payload;
    r = request("cfg-1/frobnicate", "f1");
    ASSERT_TRUE(r);
    EXPECT_EQ(json_str(parse_json(r->payload), {"code"}), "InvalidTopic") << r->payload;
    // Not JSON: InvalidJson on the request's rejected topic (no token to match: the only reply).
    device->clear();
    device->publish(kJobs + "/start-next", "{not json", 1);
    const auto bad =
        device->wait_for([&](const Received& x) { return x.topic == kJobs + "/start-next/rejected"; }, 5s);
    ASSERT_TRUE(bad);
    EXPECT_EQ(json_str(parse_json(bad->payload), {"code"}), "InvalidJson") << bad->payload;
    // Still serving.
    r = request("cfg-1/get", "g1");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->topic, kJobs + "/cfg-1/get/accepted") << r->payload;
}

// notify, notify-next and the replies are the service's: a device (its policy allows
// $aws/things/AMR-001/*) may not publish there, so no one can forge a job for a gateway to run.
TEST_F(ConformanceJobs, NoClientMayPublishTheServicesNotifyOrReplies) {
    device.reset();
    auto probe = lc->probe(lc->amr1, "AMR-001");
    ASSERT_EQ(probe->connect(), "");
    const std::vector<std::string> service_only = {
        kJobs + "/notify-next", kJobs + "/notify", kJobs + "/start-next/accepted",
        kJobs + "/cfg-1/update/rejected", kJobs + "/cfg-1/get/accepted"};
    for (const std::string& topic : service_only)
        EXPECT_EQ(probe->publish_qos1(topic, R"({"execution":{"jobId":"evil"}})"), 0x87) << topic;
    EXPECT_TRUE(probe->connected());
}

}  // namespace
}  // namespace localcore::conformance
