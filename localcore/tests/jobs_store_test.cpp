// Job executions on disk (lib/jobs_store.hpp): created with AWS's checks, kept across a reload
// exactly, cancelled, and a damaged file reported with its path.
#include "jobs_store.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "test_support.hpp"

namespace localcore::jobs {
namespace {

using ::testing::HasSubstr;

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

TEST(JobsStore, ACreatedJobIsQueuedAndReloadsExactlyAfterUpdates) {
    iotgw::test::TempDir tmp;
    const JobStore store(tmp.path());
    EXPECT_TRUE(store.load("AMR-001").empty());
    const Execution created =
        create_job(store, "AMR-001", "cfg-1", R"({ "operation" : "config", "n" : [1, 2] })", 30, 1000);
    EXPECT_EQ(created.status, Status::queued);
    EXPECT_EQ(created.document, R"({"operation":"config","n":[1,2]})") << "stored compact";
    create_job(store, "AMR-001", "cfg-2", "{}", std::nullopt, 1001);

    std::vector<Execution> all = store.load("AMR-001");
    ASSERT_EQ(all.size(), 2u);
    auto upd = std::get<UpdateRequest>(parse_update_request(
        R"({"status":"IN_PROGRESS","statusDetails":{"step":"download","note":"日本語"},"stepTimeoutInMinutes":5})"));
    ASSERT_FALSE(apply_update(all[0], upd, 1100));
    store.save("AMR-001", all);

    const std::vector<Execution> again = store.load("AMR-001");
    ASSERT_EQ(again.size(), 2u);
    const Execution& e = again[0];
    EXPECT_EQ(e.job_id, "cfg-1");
    EXPECT_EQ(e.thing, "AMR-001");
    EXPECT_EQ(e.status, Status::in_progress);
    EXPECT_EQ(e.status_details.at("note"), "日本語");
    EXPECT_EQ(e.queued_at, 1000);
    EXPECT_EQ(e.started_at, 1100);
    EXPECT_EQ(e.last_updated_at, 1100);
    EXPECT_EQ(e.version, 2);
    EXPECT_EQ(e.step_deadline, 1100 + 300);
    EXPECT_EQ(e.in_progress_timeout_minutes, 30);
    EXPECT_EQ(e.in_progress_deadline, 1100 + 1800);
    EXPECT_EQ(e.document, created.document);
    EXPECT_FALSE(again[1].started_at);
    EXPECT_FALSE(again[1].in_progress_timeout_minutes);
    EXPECT_EQ(store.things(), std::vector<std::string>{"AMR-001"});
}

TEST(JobsStore, CreateRefusesWhatAWSWouldAndSaysWhat) {
    iotgw::test::TempDir tmp;
    const JobStore store(tmp.path());
    create_job(store, "AMR-001", "cfg-1", "{}", std::nullopt, 1);
    EXPECT_THAT(error_of([&] { create_job(store, "AMR-001", "cfg-1", "{}", std::nullopt, 2); }),
                HasSubstr("already has a job 'cfg-1'"));
    EXPECT_THAT(error_of([&] { create_job(store, "AMR 001", "x", "{}", std::nullopt, 2); }),
                HasSubstr("thing name 'AMR 001' is not valid"));
    EXPECT_THAT(error_of([&] { create_job(store, "AMR-001", "bad/id", "{}", std::nullopt, 2); }),
                HasSubstr("job id 'bad/id' is not valid"));
    EXPECT_THAT(error_of([&] { create_job(store, "AMR-001", std::string(65, 'a'), "{}", std::nullopt, 2); }),
                HasSubstr("is not valid"));
    EXPECT_THAT(error_of([&] { create_job(store, "AMR-001", "j", "[1]", std::nullopt, 2); }),
                HasSubstr("must be a JSON object"));
    EXPECT_THAT(error_of([&] { create_job(store, "AMR-001", "j", "{", std::nullopt, 2); }),
                HasSubstr("not valid JSON"));
    const std::string big = R"({"pad":")" + std::string(kMaxJobDocumentBytes, 'x') + "\"}";
    EXPECT_THAT(error_of([&] { create_job(store, "AMR-001", "j", big, std::nullopt, 2); }),
                HasSubstr("AWS allows at most 32768"));
    EXPECT_THAT(error_of([&] { create_job(store, "AMR-001", "j", "{}", 0, 2); }),
                HasSubstr("1-10080 minutes"));
    EXPECT_THAT(error_of([&] { create_job(store, "AMR-001", "j", "{}", 10081, 2); }),
                HasSubstr("1-10080 minutes"));
    EXPECT_EQ(store.load("AMR-001").size(), 1u) << "nothing refused was stored";
}

TEST(JobsStore, CancelEndsAPendingJobOnlyAndADeviceUpdateIsThenRefused) {
    iotgw::test::TempDir tmp;
    const JobStore store(tmp.path());
    create_job(store, "AMR-001", "pkg-1", "{}", 60, 1);
    const Execution c = cancel_job(store, "AMR-001", "pkg-1", 5);
    EXPECT_EQ(c.status, Status::canceled);
    EXPECT_EQ(c.version, 2);
    EXPECT_THAT(error_of([&] { cancel_job(store, "AMR-001", "pkg-1", 6); }),
                HasSubstr("already ended (CANCELED)"));
    EXPECT_THAT(error_of([&] { cancel_job(store, "AMR-001", "nope", 6); }), HasSubstr("has no job 'nope'"));
    std::vector<Execution> all = store.load("AMR-001");
    const auto r =
        apply_update(all[0], std::get<UpdateRequest>(parse_update_request(R"({"status":"SUCCEEDED"})")), 7);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, "InvalidStateTransition");
    EXPECT_EQ(describe_job(store, "AMR-001", "pkg-1").status, Status::canceled);
}

TEST(JobsStore, ADamagedFileIsReportedWithItsPathAndWhatToDo) {
    iotgw::test::TempDir tmp;
    const JobStore store(tmp.path());
    create_job(store, "AMR-001", "cfg-1", "{}", std::nullopt, 1);
    const auto path = store.dir() / "AMR-001.json";
    const std::vector<std::string> damaged = {
        "{", R"({"format":2,"executions":[]})", R"({"format":1,"executions":[{"jobId":"cfg-1"}]})",
        R"({"format":1,"executions":[{"jobId":"cfg-1","jobDocument":{},"status":"DONE","statusDetails":{},)"
        R"("queuedAt":1,"lastUpdatedAt":1,"versionNumber":1,"executionNumber":1}]})"};
    for (const std::string& bad : damaged) {
        std::ofstream(path) << bad;
        const std::string what = error_of([&] { store.load("AMR-001"); });
        EXPECT_THAT(what, HasSubstr(path.string())) << bad;
        EXPECT_THAT(what, HasSubstr("delete it to drop that thing's jobs")) << bad;
    }
}

}  // namespace
}  // namespace localcore::jobs
