// Job handlers (ABI 1.3) in a running gateway: a handler instance configured under
// [job_handlers.NAME], reached by name through the host from another plugin's instance with
// sdk::start_job, its progress and end delivered later on the loop (never inside start), its
// resume state handed back, and the end still delivered when the handler stops first.
#include "runtime_test.hpp"

#include <iotgw/sdk.hpp>

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace iotgw::test {
namespace {

using namespace std::chrono_literals;

// "echo" ends SUCCEEDED with the document in its details; "bad" is REJECTED; "wait" reports a
// step and waits for the test (finish_waiting) or a cancel; "refuse" throws at start.
class EchoJobs final : public sdk::JobHandler {
public:
    EchoJobs(sdk::Host host, const sdk::Config&) : JobHandler(host) { instance = this; }
    ~EchoJobs() override { instance = nullptr; }

    std::string operations() const override { return "echo|wait"; }
    std::chrono::milliseconds step_timeout() const override { return 90s; }

    void start_job(sdk::Job job, sdk::JobReport report) override {
        started.push_back(job.id + (job.resume_state ? " resumed " + *job.resume_state : ""));
        if (job.document.find("refuse") != std::string::npos) throw sdk::Error("refused: busy");
        if (job.document.find("bad") != std::string::npos) {
            report.reject("invalid_document", "the document names no target");
            return;
        }
        if (job.document.find("wait") != std::string::npos) {
            report.progress(R"({"step":"waiting"})", R"({"phase":1})");
            waiting.emplace(std::move(report));
            return;
        }
        report.succeed(R"({"echo":"yes"})");
    }

    void cancel_job(const std::string& job_id) override {
        cancelled.push_back(job_id);
        if (waiting) waiting->fail("cancelled", "the job was cancelled");
        waiting.reset();
    }

    static inline EchoJobs* instance = nullptr;
    std::vector<std::string> started;
    std::vector<std::string> cancelled;
    std::optional<sdk::JobReport> waiting;
};

const iotgw_plugin_descriptor* echo_jobs_entry(const iotgw_host_api* h) {
    static const sdk::PluginInfo i{.abi_major = 1,
                                   .abi_minor = 3,
                                   .name = "echo_jobs",
                                   .version = "0.0.1",
                                   .description = "test job handler",
                                   .fields = {}};
    return sdk::detail::entry<EchoJobs>(h, i);
}

// What the requester heard.
struct Heard {
    std::vector<std::string> progress;
    std::optional<sdk::JobEnd> end;
};

class JobHandlerTest : public RuntimeTest {
protected:
    JobHandlerTest() {
        EXPECT_NE(registry_.add_builtin(&echo_jobs_entry, "builtin:test"), nullptr);
        start(ConfigText("AMR-001")
                  .raw("[job_handlers.echo]\ntype = \"echo_jobs\"")
                  .source("src", "probe")
                  .sink("x", "collect")
                  .pipeline("p", "src", {"x"}));
    }

    // The probe source's instance stands in for the jobs plugin: any instance may start jobs.
    sdk::Host requester() { return sdk::Host(probe_handle("src")); }

    sdk::JobTicket start_job(const std::string& id, const std::string& document, Heard& heard,
                             std::optional<std::string> resume = std::nullopt) {
        sdk::JobTicket ticket;
        on_loop([&] {
            ticket = sdk::start_job(requester(), "echo", sdk::Job{id, document, std::move(resume)},
                                    sdk::JobCallbacks{[&heard](const std::string& d, const std::string& r) {
                                                          heard.progress.push_back(d + " " + r);
                                                      },
                                                      [&heard](const sdk::JobEnd& e) { heard.end = e; }});
        });
        return ticket;
    }
};

TEST_F(JobHandlerTest, TheHandlerDescribesItselfThroughTheHost) {
    sdk::JobHandlerInfo info;
    on_loop([&] { info = sdk::describe_job_handler(requester(), "echo"); });
    EXPECT_EQ(info.operations, "echo|wait");
    EXPECT_EQ(info.step_timeout, 90s);
}

TEST_F(JobHandlerTest, TheEndArrivesLaterOnTheLoopNeverInsideStart) {
    Heard heard;
    bool ended_inside_start = false;
    on_loop([&] {
        auto ticket = sdk::start_job(requester(), "echo", sdk::Job{"job-1", R"({"operation":"echo"})", {}},
                                     sdk::JobCallbacks{{}, [&](const sdk::JobEnd& e) { heard.end = e; }});
        ended_inside_start = heard.end.has_value();
        ticket = sdk::JobTicket();  // moved-from and replaced: the first one is detached here...
    });
    EXPECT_FALSE(ended_inside_start);
    // ...so nothing is heard: a detached ticket never calls back.
    EXPECT_FALSE(heard.end.has_value());

    Heard second;
    auto ticket = start_job("job-2", R"({"operation":"echo"})", second);
    ASSERT_TRUE(second.end.has_value());
    EXPECT_EQ(second.end->outcome, sdk::JobOutcome::succeeded);
    EXPECT_EQ(second.end->details, R"({"echo":"yes"})");
    EXPECT_EQ(second.end->reason, "");
    EXPECT_FALSE(ticket.active());
}

TEST_F(JobHandlerTest, ARejectionCarriesItsReasonAndSentence) {
    Heard heard;
    auto ticket = start_job("job-3", R"({"operation":"echo","bad":1})", heard);
    ASSERT_TRUE(heard.end.has_value());
    EXPECT_EQ(heard.end->outcome, sdk::JobOutcome::rejected);
    EXPECT_EQ(heard.end->reason, "invalid_document");
    EXPECT_EQ(heard.end->message, "the document names no target");
}

TEST_F(JobHandlerTest, ProgressCarriesTheResumeStateAndCancelEndsTheJob) {
    Heard heard;
    auto ticket = start_job("job-4", R"({"operation":"wait"})", heard);
    EXPECT_EQ(heard.progress, std::vector<std::string>{R"({"step":"waiting"} {"phase":1})"});
    EXPECT_FALSE(heard.end.has_value());
    on_loop([&] { sdk::cancel_job(requester(), "echo", "job-4"); });
    ASSERT_TRUE(heard.end.has_value());
    EXPECT_EQ(heard.end->outcome, sdk::JobOutcome::failed);
    EXPECT_EQ(heard.end->reason, "cancelled");
    ASSERT_NE(EchoJobs::instance, nullptr);
    EXPECT_EQ(EchoJobs::instance->cancelled, std::vector<std::string>{"job-4"});
}

TEST_F(JobHandlerTest, AResumedJobGetsItsResumeStateBack) {
    Heard heard;
    auto ticket = start_job("job-5", R"({"operation":"echo"})", heard, R"({"phase":2})");
    ASSERT_NE(EchoJobs::instance, nullptr);
    EXPECT_EQ(EchoJobs::instance->started.back(), R"(job-5 resumed {"phase":2})");
    ASSERT_TRUE(heard.end.has_value());
}

TEST_F(JobHandlerTest, ARefusalAtStartThrowsAndNeverCallsBack) {
    Heard heard;
    std::string error;
    on_loop([&] {
        try {
            auto t = sdk::start_job(requester(), "echo", sdk::Job{"job-6", R"({"refuse":1})", {}},
                                    sdk::JobCallbacks{{}, [&](const sdk::JobEnd& e) { heard.end = e; }});
        } catch (const sdk::Error& e) {
            error = e.what();
        }
    });
    EXPECT_EQ(error, "job handler 'echo' did not start job job-6: refused: busy");
    EXPECT_FALSE(heard.end.has_value());
}

TEST_F(JobHandlerTest, UnknownHandlersAndOtherKindsAreNotFound) {
    std::string error;
    on_loop([&] {
        for (const char* name : {"nobody", "src"}) {
            try {
                sdk::describe_job_handler(requester(), name);
            } catch (const sdk::Error& e) {
                error += std::string(e.what()) + "\n";
            }
        }
    });
    EXPECT_EQ(error,
              "job handler 'nobody': no job handler instance named 'nobody'\n"
              "job handler 'src': no job handler instance named 'src'\n");
}

TEST_F(JobHandlerTest, AJobStillRunningWhenTheGatewayStopsEndsFailedForTheRequester) {
    Heard heard;
    auto ticket = start_job("job-7", R"({"operation":"wait"})", heard);
    ASSERT_FALSE(heard.end.has_value());
    ASSERT_NE(EchoJobs::instance, nullptr);
    // The handler ends it while stopping; the requester still hears, once.
    on_loop([&] { EchoJobs::instance->cancel_job("job-7"); });
    gw_.stop();
    io_.restart();
    io_.poll();
    ASSERT_TRUE(heard.end.has_value());
    EXPECT_EQ(heard.end->outcome, sdk::JobOutcome::failed);
}

// A job handler that claims an ABI older than 1.3, which had no such kind.
const iotgw_plugin_descriptor* old_abi_jobs_entry(const iotgw_host_api* h) {
    static const sdk::PluginInfo i{.abi_major = 1,
                                   .abi_minor = 1,
                                   .name = "old_jobs",
                                   .version = "0.0.1",
                                   .description = "test job handler with a wrong ABI",
                                   .fields = {}};
    return sdk::detail::entry<EchoJobs>(h, i);
}

TEST(JobHandlerDescriptor, AJobHandlerDeclaringAnAbiBeforeTheKindExistedIsRefused) {
    core::PluginRegistry registry{core::host_api_table()};
    EXPECT_EQ(registry.add_builtin(&old_abi_jobs_entry, "builtin:old"), nullptr);
    ASSERT_EQ(registry.failures().size(), 1u);
    EXPECT_EQ(registry.failures()[0].message,
              "builtin:old: a job handler plugin must be written for plugin ABI 1.3 or newer, but it declares "
              "1.1: declare .abi_minor = 3 in IOTGW_DECLARE_PLUGIN and rebuild it.");
}

TEST(JobHandlerDescriptor, AJobHandlerIsListedWithItsKind) {
    core::PluginRegistry registry{core::host_api_table()};
    const core::LoadedPlugin* p = registry.add_builtin(&echo_jobs_entry, "builtin:test");
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->kind, IOTGW_KIND_JOB_HANDLER);
    EXPECT_EQ(registry.find(IOTGW_KIND_JOB_HANDLER, "echo_jobs"), p);
}

}  // namespace
}  // namespace iotgw::test
