// The Jobs API messages the `jobs` processor reads and writes, and its journal: every reply form,
// every malformed one refused with the topic and the field, the requests' exact JSON, the job
// document checks, AWS's statusDetails limits, and a journal that survives a round trip and names
// its file when damaged.
#include "job_journal.hpp"
#include "job_messages.hpp"

#include "test_support.hpp"

#include <iotgw/sdk/errors.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <variant>

namespace iotgw::plugins::jobs {
namespace {

const JobTopics kTopics("AMR-001");
const std::string kBase = "$aws/things/AMR-001/jobs/";

Reply parse(const std::string& rest, const std::string& payload) {
    auto r = parse_reply(kTopics, kBase + rest, payload);
    if (!r) throw std::runtime_error("not a reply: " + rest);
    return *r;
}

TEST(JobMessages, NotifyNextCarriesTheNextExecutionOrNone) {
    const Reply r = parse("notify-next", R"({"timestamp":1,"execution":{"jobId":"cfg-1","status":"QUEUED",
        "versionNumber":1,"executionNumber":1,"jobDocument":{"operation":"config","n":[1,2]}}})");
    EXPECT_EQ(r.kind, ReplyKind::notify_next);
    ASSERT_TRUE(r.execution);
    EXPECT_EQ(r.execution->job_id, "cfg-1");
    EXPECT_EQ(r.execution->status, "QUEUED");
    EXPECT_EQ(r.execution->document, R"({"operation":"config","n":[1,2]})");
    EXPECT_FALSE(parse("notify-next", R"({"timestamp":1})").execution);
}

TEST(JobMessages, RepliesAreToldApartByTopic) {
    Reply r = parse("start-next/accepted", R"({"clientToken":"jobs-1","execution":{"jobId":"h-1",
        "status":"IN_PROGRESS","versionNumber":2,"executionNumber":1,"jobDocument":{"operation":"health"}}})");
    EXPECT_EQ(r.kind, ReplyKind::start_next_accepted);
    EXPECT_EQ(r.client_token, "jobs-1");
    ASSERT_TRUE(r.execution);
    EXPECT_EQ(r.execution->version, 2);

    r = parse("h-1/update/accepted", R"({"clientToken":"jobs-2","executionState":{"status":"IN_PROGRESS",
        "versionNumber":3}})");
    EXPECT_EQ(r.kind, ReplyKind::update_accepted);
    EXPECT_EQ(r.job_id, "h-1");
    EXPECT_EQ(r.state_version, 3);

    r = parse("h-1/update/rejected", R"({"code":"VersionMismatch","message":"expectedVersion 2 does not match",
        "clientToken":"jobs-3","executionState":{"status":"IN_PROGRESS","versionNumber":4}})");
    EXPECT_EQ(r.kind, ReplyKind::rejected);
    EXPECT_EQ(r.request, "update");
    EXPECT_EQ(r.code, "VersionMismatch");
    EXPECT_EQ(r.state_status, "IN_PROGRESS");
    EXPECT_EQ(r.state_version, 4);

    r = parse("h-1/get/accepted", R"({"execution":{"jobId":"h-1","status":"CANCELED","versionNumber":5}})");
    EXPECT_EQ(r.kind, ReplyKind::get_accepted);
    EXPECT_EQ(r.execution->status, "CANCELED");
}

TEST(JobMessages, TopicsItDoesNotUseAreNotReplies) {
    for (const std::string& topic :
         {kBase + "notify", kBase + "get/accepted", kBase + "h-1/update", kBase + "h-1/get",
          kBase + "h-1/delete/accepted", std::string("$aws/things/AMR-002/jobs/notify-next"), std::string("amr/x")})
        EXPECT_FALSE(parse_reply(kTopics, topic, "{}")) << topic;
}

TEST(JobMessages, MalformedRepliesAreRefusedWithTheTopicAndTheField) {
    const std::pair<std::string, std::string> cases[] = {
        {"notify-next|not json", "not JSON"},
        {"notify-next|[1]", "not a JSON object"},
        {R"(notify-next|{"execution":7})", R"("execution" is not an object)"},
        {R"(notify-next|{"execution":{"status":"QUEUED"}})", R"(the execution has no "jobId")"},
        {R"(notify-next|{"execution":{"jobId":"a","versionNumber":"2"}})",
         R"("versionNumber" is not an integer)"},
        // A job id reaches file names (a handler's download, the update helper's request):
        // only AWS's characters, at most 64 of them.
        {R"(notify-next|{"execution":{"jobId":"../../etc/x"}})", R"("jobId" is not a job id)"},
        {R"(notify-next|{"execution":{"jobId":"a b"}})", R"("jobId" is not a job id)"},
        {R"(notify-next|{"execution":{"jobId":")" + std::string(65, 'a') + R"("}})",
         R"("jobId" is not a job id)"},
        {R"(notify-next|{"execution":{"jobId":"a","jobDocument":"x"}})", R"("jobDocument" is not an object)"},
        {R"(h-1/update/rejected|{"message":"x"})", R"(a rejection without "code")"},
        {R"(h-1/get/accepted|{})", R"(a get reply without "execution")"},
        {R"(h-1/update/accepted|{"executionState":1})", R"("executionState" is not an object)"},
    };
    for (const auto& [spec, why] : cases) {
        const auto bar = spec.find('|');
        const std::string topic = kBase + spec.substr(0, bar);
        try {
            parse_reply(kTopics, topic, spec.substr(bar + 1));
            ADD_FAILURE() << "accepted: " << spec;
        } catch (const sdk::Error& e) {
            const std::string what = e.what();
            EXPECT_EQ(what.rfind("jobs: malformed message on '" + topic + "': ", 0), 0u) << what;
            EXPECT_NE(what.find(why), std::string::npos) << what;
        }
    }
}

TEST(JobMessages, RequestsAreTheApiForms) {
    EXPECT_EQ(start_next_request("jobs-1", 11), R"({"clientToken":"jobs-1","stepTimeoutInMinutes":11})");
    EXPECT_EQ(update_request("IN_PROGRESS", R"({"step":"download"})", 3, 6, "jobs-2"),
              R"({"status":"IN_PROGRESS","statusDetails":{"step":"download"},"expectedVersion":3,)"
              R"("stepTimeoutInMinutes":6,"includeJobExecutionState":true,"clientToken":"jobs-2"})");
    EXPECT_EQ(update_request("SUCCEEDED", "", 4, std::nullopt, "jobs-3"),
              R"({"status":"SUCCEEDED","expectedVersion":4,"includeJobExecutionState":true,"clientToken":"jobs-3"})");
    EXPECT_EQ(get_request("jobs-4"), R"({"includeJobDocument":true,"clientToken":"jobs-4"})");
}

TEST(JobMessages, TheOperationIsCheckedBeforeAnyHandler) {
    EXPECT_EQ(std::get<std::string>(operation_of(R"({"operation":"config","toml":"x"})", 32768)), "config");
    const std::pair<std::string, std::string> bad[] = {
        {"not json", "invalid_document"},
        {"[]", "invalid_document"},
        {R"({"op":"x"})", "invalid_document"},
        {R"({"operation":7})", "invalid_document"},
        {R"({"operation":""})", "invalid_document"},
        {R"({"operation":"Reboot Now"})", "invalid_document"},
        {R"({"operation":")" + std::string(65, 'a') + "\"}", "invalid_document"},
        {R"({"operation":"config","pad":")" + std::string(200, 'x') + "\"}", "document_too_large"},
    };
    for (const auto& [doc, reason] : bad) {
        const auto r = operation_of(doc, 200);
        ASSERT_TRUE(std::holds_alternative<DocumentProblem>(r)) << doc;
        EXPECT_EQ(std::get<DocumentProblem>(r).reason, reason) << doc;
        EXPECT_FALSE(std::get<DocumentProblem>(r).message.empty()) << doc;
    }
}

TEST(JobMessages, StatusDetailsKeepAwssLimits) {
    EXPECT_EQ(status_details(R"({"step":"2/3","n":4,"reason":"x"})", "", ""), R"({"step":"2/3"})");
    EXPECT_EQ(status_details("", "invalid_config", "iotgw.toml:3: unknown key"),
              R"({"reason":"invalid_config","message":"iotgw.toml:3: unknown key"})");
    // Keys cut to 128 of [a-zA-Z0-9:_-], values to 1024 characters, control characters blanked.
    const std::string long_key(200, 'k');
    const std::string out = status_details(R"({")" + long_key + R"(":"a\nb","bad key!":")" +
                                               std::string(2000, 'v') + "\"}",
                                           "", "");
    EXPECT_NE(out.find("\"" + std::string(128, 'k') + "\":\"a b\""), std::string::npos) << out;
    EXPECT_NE(out.find("\"bad_key_\":\"" + std::string(1024, 'v') + "\""), std::string::npos) << out.substr(0, 200);
    // Not an object: only reason and message.
    EXPECT_EQ(status_details("[1]", "r", "m"), R"({"reason":"r","message":"m"})");
    // Multi-byte characters are counted as characters and never split.
    const std::string kana = "\xE3\x81\x82";  // あ
    std::string many;
    for (int i = 0; i < 1100; ++i) many += kana;
    const std::string cut = status_details(R"({"m":")" + many + "\"}", "", "");
    EXPECT_EQ(cut.size(), std::string(R"({"m":""})").size() + 1024 * kana.size());
}

TEST(JobJournal, AnEntrySurvivesARoundTripAndIsClearedDurably) {
    iotgw::test::TempDir tmp;
    const JobJournal journal((tmp.path() / "current.json").string());
    EXPECT_FALSE(journal.load());
    JournalEntry e;
    e.job_id = "pkg-7";
    e.execution_number = 2;
    e.version = 5;
    e.operation = "package";
    e.handler = "package";
    e.document = R"({"operation":"package","url":"https://x/y.deb"})";
    e.resume_state = R"({"phase":"installed"})";
    journal.save(e);
    auto back = journal.load();
    ASSERT_TRUE(back);
    EXPECT_EQ(back->job_id, "pkg-7");
    EXPECT_EQ(back->version, 5);
    EXPECT_EQ(back->document, e.document);
    EXPECT_EQ(back->resume_state, e.resume_state);
    EXPECT_FALSE(back->final_status);

    e.final_status = "FAILED";
    e.final_details = R"({"reason":"rolled_back"})";
    journal.save(e);
    back = journal.load();
    ASSERT_TRUE(back);
    EXPECT_EQ(back->final_status, "FAILED");
    EXPECT_EQ(back->final_details, e.final_details);

    journal.clear();
    EXPECT_FALSE(journal.load());
    journal.clear();  // twice: no error
}

TEST(JobJournal, ADamagedFileIsNamedAndSetAside) {
    iotgw::test::TempDir tmp;
    const std::string path = (tmp.path() / "current.json").string();
    const JobJournal journal(path);
    for (const std::string& bad : {std::string("{"), std::string("[]"), std::string(R"({"job_id":"a"})"),
                                  std::string(R"({"job_id":"a","execution_number":1,"version":1,"operation":"x",)"
                                              R"("handler":"h","document":"{}","resume_state":"","final_status":"DONE",)"
                                              R"("final_details":"{}"})")}) {
        std::ofstream(path) << bad;
        try {
            journal.load();
            ADD_FAILURE() << "loaded: " << bad;
        } catch (const sdk::Error& e) {
            EXPECT_EQ(std::string(e.what()).rfind("jobs: the journal " + path + " is damaged (", 0), 0u) << e.what();
        }
    }
    journal.set_aside();
    EXPECT_FALSE(journal.load());
    std::ifstream aside(path + ".damaged");
    EXPECT_TRUE(aside.good());
}

}  // namespace
}  // namespace iotgw::plugins::jobs
