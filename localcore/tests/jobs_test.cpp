// The Jobs engine (lib/jobs.hpp): requests parsed and refused as AWS does, the execution state
// machine, step timeouts, start-next's choice, and the replies' JSON.
#include "jobs.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <string>
#include <variant>
#include <vector>

namespace localcore::jobs {
namespace {

UpdateRequest update_ok(std::string_view payload) {
    auto r = parse_update_request(payload);
    if (auto* rej = std::get_if<Rejection>(&r))
        ADD_FAILURE() << payload << ": " << rej->code << " " << rej->message;
    return std::holds_alternative<UpdateRequest>(r) ? std::get<UpdateRequest>(r) : UpdateRequest{};
}

Rejection update_refused(std::string_view payload) {
    auto r = parse_update_request(payload);
    EXPECT_TRUE(std::holds_alternative<Rejection>(r)) << payload;
    return std::holds_alternative<Rejection>(r) ? std::get<Rejection>(r) : Rejection{};
}

Execution queued(std::string id, std::int64_t queued_at) {
    Execution e;
    e.job_id = std::move(id);
    e.thing = "AMR-001";
    e.document = R"({"operation":"config","url":"https://example.invalid/site.toml"})";
    e.queued_at = queued_at;
    e.last_updated_at = queued_at;
    return e;
}

rapidjson::Document json(const std::string& text) {
    rapidjson::Document d;
    d.Parse(text.c_str());
    EXPECT_FALSE(d.HasParseError()) << text;
    return d;
}

TEST(JobsRequest, AFullUpdateIsParsed) {
    const UpdateRequest r = update_ok(
        R"({"status":"IN_PROGRESS","statusDetails":{"step":"download","progress":"40"},"expectedVersion":2,
            "executionNumber":1,"includeJobExecutionState":true,"includeJobDocument":true,
            "stepTimeoutInMinutes":30,"clientToken":"gw-1"})");
    EXPECT_EQ(r.status, Status::in_progress);
    ASSERT_TRUE(r.status_details);
    EXPECT_EQ(r.status_details->at("progress"), "40");
    EXPECT_EQ(r.expected_version, 2);
    EXPECT_EQ(r.execution_number, 1);
    EXPECT_TRUE(r.include_job_execution_state);
    EXPECT_TRUE(r.include_job_document);
    EXPECT_EQ(r.step_timeout_minutes, 30);
    EXPECT_EQ(r.client_token, "gw-1");
}

TEST(JobsRequest, StatusIsRequiredAndOnlyTheDevicesFourAreAllowed) {
    EXPECT_EQ(update_refused(R"({"statusDetails":{}})").code, "InvalidRequest");
    for (const char* s : {"QUEUED", "TIMED_OUT", "CANCELED", "REMOVED", "in_progress", ""}) {
        const Rejection r = update_refused(std::string(R"({"status":")") + s + "\"}");
        EXPECT_EQ(r.code, "InvalidRequest") << s;
        EXPECT_NE(r.message.find("status must be"), std::string::npos) << r.message;
    }
    for (const char* s : {"IN_PROGRESS", "SUCCEEDED", "FAILED", "REJECTED"})
        update_ok(std::string(R"({"status":")") + s + "\"}");
}

TEST(JobsRequest, MalformedPayloadsAreInvalidJsonAndDeepOnesDoNotCrash) {
    EXPECT_EQ(update_refused("{").code, "InvalidJson");
    EXPECT_EQ(update_refused("[]").code, "InvalidJson");
    EXPECT_EQ(update_refused("\"IN_PROGRESS\"").code, "InvalidJson");
    const std::string deep = std::string(60000, '[') + std::string(60000, ']');
    EXPECT_EQ(update_refused(deep).code, "InvalidJson");
    EXPECT_EQ(update_refused(std::string(200 * 1024, ' ')).code, "InvalidRequest");
}

TEST(JobsRequest, StatusDetailsAreStringsWithAWSsKeyAndValueRules) {
    EXPECT_NE(update_refused(R"({"status":"FAILED","statusDetails":{"code":5}})")
                  .message.find("statusDetails.code"),
              std::string::npos);
    EXPECT_NE(
        update_refused(R"({"status":"FAILED","statusDetails":{"bad key":"x"}})").message.find("bad key"),
        std::string::npos);
    update_refused(R"({"status":"FAILED","statusDetails":{"reason":""}})");
    update_refused(R"({"status":"FAILED","statusDetails":{"reason":"a\nb"}})");
    update_refused(R"({"status":"FAILED","statusDetails":"oops"})");
    update_refused(R"({"status":"FAILED","statusDetails":{"k":"x"},"clientToken":")" + std::string(65, 't') +
                   "\"}");
    // 1,024 characters (not bytes): Japanese reasons fit as long as they have at most 1,024 characters.
    std::string ja;
    for (int i = 0; i < 1024; ++i) ja += "\xE3\x81\x82";  // あ
    update_ok(R"({"status":"FAILED","statusDetails":{"reason":")" + ja + "\"}}");
    update_refused(R"({"status":"FAILED","statusDetails":{"reason":")" + ja + "x\"}}");
    update_ok(R"({"status":"FAILED","statusDetails":{"a:b_c-1":"ok"}})");
}

TEST(JobsRequest, StepTimeoutIsOneMinuteToSevenDaysOrMinusOne) {
    update_refused(R"({"status":"IN_PROGRESS","stepTimeoutInMinutes":0})");
    update_refused(R"({"status":"IN_PROGRESS","stepTimeoutInMinutes":10081})");
    update_refused(R"({"status":"IN_PROGRESS","stepTimeoutInMinutes":"5"})");
    EXPECT_EQ(update_ok(R"({"status":"IN_PROGRESS","stepTimeoutInMinutes":10080})").step_timeout_minutes,
              10080);
    EXPECT_EQ(update_ok(R"({"status":"IN_PROGRESS","stepTimeoutInMinutes":-1})").step_timeout_minutes, -1);
    // start-next cannot clear what it has not set.
    EXPECT_TRUE(
        std::holds_alternative<Rejection>(parse_start_next_request(R"({"stepTimeoutInMinutes":-1})")));
    EXPECT_TRUE(std::holds_alternative<StartNextRequest>(parse_start_next_request("")));
}

TEST(JobsRequest, TheClientTokenOfAnUnparsableRequestIsStillFound) {
    EXPECT_EQ(client_token_of(R"({"clientToken":"t-1","status":5})"), "t-1");
    EXPECT_EQ(client_token_of("{"), "");
    EXPECT_EQ(client_token_of(R"({"clientToken":7})"), "");
}

TEST(JobsExecution, AnExecutionRunsQueuedInProgressSucceededAndVersionsEachStep) {
    Execution e = queued("cfg-1", 100);
    ASSERT_FALSE(
        apply_update(e, update_ok(R"({"status":"IN_PROGRESS","statusDetails":{"step":"check"}})"), 110));
    EXPECT_EQ(e.status, Status::in_progress);
    EXPECT_EQ(e.started_at, 110);
    EXPECT_EQ(e.version, 2);
    ASSERT_FALSE(apply_update(e, update_ok(R"({"status":"IN_PROGRESS","expectedVersion":2})"), 120));
    EXPECT_EQ(e.status_details.at("step"), "check") << "absent statusDetails leave the map unchanged";
    EXPECT_EQ(e.version, 3);
    EXPECT_EQ(e.started_at, 110) << "started once";
    ASSERT_FALSE(
        apply_update(e, update_ok(R"({"status":"SUCCEEDED","statusDetails":{"result":"applied"}})"), 130));
    EXPECT_EQ(e.status_details, (StatusDetails{{"result", "applied"}}))
        << "given statusDetails replace the map";
    EXPECT_EQ(e.version, 4);
    EXPECT_EQ(e.last_updated_at, 130);
}

TEST(JobsExecution, ATerminalExecutionTakesNoUpdateAndTheRefusalCarriesItsState) {
    Execution e = queued("cfg-1", 100);
    ASSERT_FALSE(
        apply_update(e, update_ok(R"({"status":"FAILED","statusDetails":{"reason":"invalid"}})"), 110));
    for (const char* s : {"IN_PROGRESS", "SUCCEEDED", "FAILED", "REJECTED"}) {
        const auto r = apply_update(e, update_ok(std::string(R"({"status":")") + s + "\"}"), 120);
        ASSERT_TRUE(r) << s;
        EXPECT_EQ(r->code, "InvalidStateTransition");
        EXPECT_TRUE(r->include_state);
        EXPECT_NE(r->message.find("from FAILED to"), std::string::npos) << r->message;
    }
    EXPECT_EQ(e.version, 2) << "a refused update changes nothing";
}

TEST(JobsExecution, AStaleExpectedVersionOrAnotherExecutionNumberIsRefused) {
    Execution e = queued("cfg-1", 100);
    auto r = apply_update(e, update_ok(R"({"status":"IN_PROGRESS","expectedVersion":7})"), 110);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, "VersionMismatch");
    EXPECT_TRUE(r->include_state);
    r = apply_update(e, update_ok(R"({"status":"IN_PROGRESS","executionNumber":2})"), 110);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, "ResourceNotFound");
    EXPECT_EQ(e.status, Status::queued);
    EXPECT_EQ(e.version, 1);
}

TEST(JobsExecution, AStepNotUpdatedInTimeEndsTimedOut) {
    Execution e = queued("pkg-1", 100);
    ASSERT_FALSE(apply_update(e, update_ok(R"({"status":"IN_PROGRESS","stepTimeoutInMinutes":1})"), 200));
    EXPECT_EQ(e.step_deadline, 260);
    EXPECT_FALSE(expire_timeouts(e, 259));
    // Each update may set the next step's timeout.
    ASSERT_FALSE(apply_update(e, update_ok(R"({"status":"IN_PROGRESS","stepTimeoutInMinutes":2})"), 250));
    EXPECT_FALSE(expire_timeouts(e, 300));
    EXPECT_TRUE(expire_timeouts(e, 370));
    EXPECT_EQ(e.status, Status::timed_out);
    EXPECT_EQ(e.version, 4);
    EXPECT_FALSE(expire_timeouts(e, 999)) << "once";
    const auto late = apply_update(e, update_ok(R"({"status":"SUCCEEDED"})"), 400);
    ASSERT_TRUE(late);
    EXPECT_EQ(late->code, "InvalidStateTransition");
}

TEST(JobsExecution, MinusOneClearsTheStepTimeoutAndATerminalStateEndsIt) {
    Execution e = queued("pkg-1", 100);
    ASSERT_FALSE(apply_update(e, update_ok(R"({"status":"IN_PROGRESS","stepTimeoutInMinutes":1})"), 200));
    ASSERT_FALSE(apply_update(e, update_ok(R"({"status":"IN_PROGRESS","stepTimeoutInMinutes":-1})"), 210));
    EXPECT_FALSE(e.step_deadline);
    EXPECT_FALSE(expire_timeouts(e, 100000));
    ASSERT_FALSE(apply_update(e, update_ok(R"({"status":"IN_PROGRESS","stepTimeoutInMinutes":1})"), 220));
    ASSERT_FALSE(apply_update(e, update_ok(R"({"status":"SUCCEEDED","stepTimeoutInMinutes":5})"), 230));
    EXPECT_FALSE(e.step_deadline);
    EXPECT_FALSE(expire_timeouts(e, 100000));
    EXPECT_EQ(e.status, Status::succeeded);
}

TEST(JobsExecution, TheJobsInProgressTimeoutRunsFromStartWhateverTheSteps) {
    Execution e = queued("pkg-1", 100);
    e.in_progress_timeout_minutes = 10;
    EXPECT_FALSE(next_deadline(e)) << "not while queued";
    start(e, StartNextRequest{std::nullopt, 5, "t"}, 1000);
    EXPECT_EQ(e.in_progress_deadline, 1600);
    EXPECT_EQ(next_deadline(e), 1300) << "the step's deadline comes first";
    // Updates keep renewing the step, not the job's timeout.
    for (std::int64_t t = 1100; t <= 1500; t += 100)
        ASSERT_FALSE(apply_update(e, update_ok(R"({"status":"IN_PROGRESS","stepTimeoutInMinutes":5})"), t));
    EXPECT_EQ(next_deadline(e), 1600);
    EXPECT_FALSE(expire_timeouts(e, 1599));
    EXPECT_TRUE(expire_timeouts(e, 1600));
    EXPECT_EQ(e.status, Status::timed_out);
    EXPECT_FALSE(next_deadline(e));
    // Updated from QUEUED straight away, the timeout starts there too.
    Execution f = queued("pkg-2", 100);
    f.in_progress_timeout_minutes = 1;
    ASSERT_FALSE(apply_update(f, update_ok(R"({"status":"IN_PROGRESS"})"), 200));
    EXPECT_EQ(f.in_progress_deadline, 260);
    ASSERT_FALSE(apply_update(f, update_ok(R"({"status":"SUCCEEDED"})"), 210));
    EXPECT_FALSE(expire_timeouts(f, 1000)) << "ended in time";
}

TEST(JobsStartNext, TheInProgressExecutionComesFirstThenTheOldestQueued) {
    std::vector<Execution> all = {queued("b", 300), queued("a", 300), queued("old", 100)};
    all.push_back(queued("done", 50));
    all.back().status = Status::succeeded;
    ASSERT_NE(next_pending(all), nullptr);
    EXPECT_EQ(next_pending(all)->job_id, "old");
    start(*next_pending(all), StartNextRequest{StatusDetails{{"step", "start"}}, 10, "t"}, 400);
    EXPECT_EQ(all[2].status, Status::in_progress);
    EXPECT_EQ(all[2].version, 2);
    EXPECT_EQ(all[2].step_deadline, 400 + 600);
    EXPECT_EQ(all[2].status_details.at("step"), "start");
    // Resumed after a restart: the same execution, unchanged.
    start(*next_pending(all), StartNextRequest{StatusDetails{{"step", "again"}}, 1, "t"}, 500);
    EXPECT_EQ(next_pending(all)->job_id, "old");
    EXPECT_EQ(all[2].version, 2);
    EXPECT_EQ(all[2].status_details.at("step"), "start");
    ASSERT_FALSE(apply_update(all[2], update_ok(R"({"status":"SUCCEEDED"})"), 600));
    EXPECT_EQ(next_pending(all)->job_id, "a") << "same queued_at: by job id";
    for (auto& e : all) e.status = Status::canceled;
    EXPECT_EQ(next_pending(all), nullptr);
}

TEST(JobsReplies, AnExecutionHasAWSsFields) {
    Execution e = queued("cfg-1", 100);
    ASSERT_FALSE(
        apply_update(e, update_ok(R"({"status":"IN_PROGRESS","statusDetails":{"step":"check"}})"), 110));
    const auto d = json(execution_json(e, true));
    EXPECT_STREQ(d["jobId"].GetString(), "cfg-1");
    EXPECT_STREQ(d["thingName"].GetString(), "AMR-001");
    EXPECT_STREQ(d["jobDocument"]["operation"].GetString(), "config");
    EXPECT_STREQ(d["status"].GetString(), "IN_PROGRESS");
    EXPECT_STREQ(d["statusDetails"]["step"].GetString(), "check");
    EXPECT_EQ(d["queuedAt"].GetInt64(), 100);
    EXPECT_EQ(d["startedAt"].GetInt64(), 110);
    EXPECT_EQ(d["lastUpdatedAt"].GetInt64(), 110);
    EXPECT_EQ(d["versionNumber"].GetInt64(), 2);
    EXPECT_EQ(d["executionNumber"].GetInt64(), 1);
    EXPECT_FALSE(json(execution_json(queued("q", 1), false)).HasMember("jobDocument"));
    EXPECT_FALSE(json(execution_json(queued("q", 1), false)).HasMember("startedAt"));
}

TEST(JobsReplies, UpdateAcceptedCarriesStateAndDocumentOnlyWhenAsked) {
    Execution e = queued("cfg-1", 100);
    UpdateRequest plain = update_ok(R"({"status":"IN_PROGRESS","clientToken":"c1"})");
    ASSERT_FALSE(apply_update(e, plain, 110));
    auto d = json(update_accepted_json(e, plain, 111));
    EXPECT_FALSE(d.HasMember("executionState"));
    EXPECT_FALSE(d.HasMember("jobDocument"));
    EXPECT_EQ(d["timestamp"].GetInt64(), 111);
    EXPECT_STREQ(d["clientToken"].GetString(), "c1");
    UpdateRequest full =
        update_ok(R"({"status":"IN_PROGRESS","includeJobExecutionState":true,"includeJobDocument":true})");
    ASSERT_FALSE(apply_update(e, full, 120));
    d = json(update_accepted_json(e, full, 121));
    EXPECT_STREQ(d["executionState"]["status"].GetString(), "IN_PROGRESS");
    EXPECT_EQ(d["executionState"]["versionNumber"].GetInt64(), 3);
    EXPECT_TRUE(d["executionState"]["statusDetails"].IsObject());
    EXPECT_STREQ(d["jobDocument"]["url"].GetString(), "https://example.invalid/site.toml");
    EXPECT_FALSE(d.HasMember("clientToken"));
}

TEST(JobsReplies, ARejectionHasCodeMessageTokenAndForStateErrorsTheState) {
    Execution e = queued("cfg-1", 100);
    const auto r = apply_update(e, update_ok(R"({"status":"IN_PROGRESS","expectedVersion":9})"), 110);
    ASSERT_TRUE(r);
    auto d = json(rejected_json(*r, &e, "c9", 112));
    EXPECT_STREQ(d["code"].GetString(), "VersionMismatch");
    EXPECT_NE(std::string(d["message"].GetString()).find("expectedVersion 9"), std::string::npos);
    EXPECT_STREQ(d["clientToken"].GetString(), "c9");
    EXPECT_EQ(d["timestamp"].GetInt64(), 112);
    EXPECT_STREQ(d["executionState"]["status"].GetString(), "QUEUED");
    d = json(rejected_json(update_refused("{"), nullptr, "", 113));
    EXPECT_STREQ(d["code"].GetString(), "InvalidJson");
    EXPECT_FALSE(d.HasMember("executionState"));
    EXPECT_FALSE(d.HasMember("clientToken"));
}

TEST(JobsReplies, NotifyListsPendingExecutionsByStateAndNotifyNextTheNextOne) {
    std::vector<Execution> all = {queued("q2", 200), queued("q1", 100), queued("run", 50),
                                  queued("done", 10)};
    start(all[2], {}, 60);
    all[3].status = Status::failed;
    auto d = json(notify_json(all, 300));
    EXPECT_EQ(d["timestamp"].GetInt64(), 300);
    ASSERT_TRUE(d["jobs"]["IN_PROGRESS"].IsArray());
    EXPECT_EQ(d["jobs"]["IN_PROGRESS"].Size(), 1u);
    EXPECT_STREQ(d["jobs"]["IN_PROGRESS"][0]["jobId"].GetString(), "run");
    ASSERT_EQ(d["jobs"]["QUEUED"].Size(), 2u);
    EXPECT_STREQ(d["jobs"]["QUEUED"][0]["jobId"].GetString(), "q1") << "oldest first";
    EXPECT_FALSE(d["jobs"]["QUEUED"][0].HasMember("jobDocument")) << "summaries only";
    d = json(notify_next_json(next_pending(all), 301));
    EXPECT_STREQ(d["execution"]["jobId"].GetString(), "run");
    EXPECT_TRUE(d["execution"].HasMember("jobDocument"));
    EXPECT_FALSE(json(notify_next_json(nullptr, 302)).HasMember("execution"));
    EXPECT_FALSE(json(notify_json({}, 303))["jobs"].HasMember("QUEUED"));
    EXPECT_FALSE(json(start_next_accepted_json(nullptr, "t", 304)).HasMember("execution"));
}

}  // namespace
}  // namespace localcore::jobs
