// Pipeline routing, fan-out, endpoints and failure isolation on a real Gateway and event loop.
#include "runtime_test.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

namespace iotgw::test {
namespace {

using PipelineTest = RuntimeTest;

// The probe source "src" (with `source_fields`) and a pipeline "p" from it `via` the processors
// to the collect sink "x"; the test adds the processors.
ConfigText probe_to_x(const std::vector<std::string>& via = {}, const std::string& source_fields = "") {
    ConfigText config;
    config.source("src", "probe", source_fields).sink("x", "collect").pipeline("p", "src", {"x"}, via);
    return config;
}

const std::string kThreeStages = ConfigText()
                                     .source("src", "probe")
                                     .processor("a", "tag", "suffix = \"-a\"")
                                     .processor("b", "tag", "suffix = \"-b\"")
                                     .processor("c", "tag", "suffix = \"-c\"")
                                     .sink("out1", "collect")
                                     .sink("out2", "collect")
                                     .pipeline("main", "src", {"out1", "out2"}, {"a", "b", "c"});

TEST_F(PipelineTest, StagesRunInOrderAndFanOutToEverySink) {
    start(kThreeStages);
    on_loop([] {
        EXPECT_EQ(probe_emit("src", "t/1", "x"), IOTGW_OK);
        EXPECT_EQ(probe_emit("src", "t/2", "y"), IOTGW_OK);
    });
    EXPECT_EQ(payloads_of("out1"), (std::vector<std::string>{"x-a-b-c", "y-a-b-c"}));
    EXPECT_EQ(payloads_of("out2"), (std::vector<std::string>{"x-a-b-c", "y-a-b-c"}));
    auto msgs = Recorder::get().messages_of("out1");
    EXPECT_EQ(msgs[0].topic, "t/1");
    EXPECT_EQ(msgs[0].qos, 1);
    EXPECT_EQ(gw_.metrics().counter_value("pipeline.main.received"), 2u);
    EXPECT_EQ(gw_.metrics().counter_value("pipeline.main.delivered"), 2u);
}

TEST_F(PipelineTest, AFailingStageIsLoggedCountedAndTheNextMessageStillFlows) {
    start(kThreeStages);
    on_loop([] {
        probe_emit("src", "t", "fail");
        probe_emit("src", "t", "ok");
    });
    EXPECT_EQ(payloads_of("out1"), (std::vector<std::string>{"ok-a-b-c"}));
    EXPECT_EQ(gw_.metrics().counter_value("pipeline.main.failed"), 1u);
    EXPECT_TRUE(
        log_.contains("<3>pipeline main: stage 1 'a' (processors.a) failed (status 8): payload says fail; "
                      "the message was dropped for this stage, the pipeline goes on"))
        << log_.joined();
}

TEST_F(PipelineTest, AProcessorMayDropAMessage) {
    start(kThreeStages);
    on_loop([] { probe_emit("src", "t", "drop"); });
    EXPECT_TRUE(Recorder::get().messages().empty());
    EXPECT_EQ(gw_.metrics().counter_value("pipeline.main.failed"), 0u);
}

TEST_F(PipelineTest, AFailingSinkDoesNotKeepTheMessageFromTheOthers) {
    start(ConfigText()
              .source("src", "probe")
              .sink("first", "collect")
              .sink("second", "collect")
              .pipeline("p", "src", {"first", "second"}));
    on_loop([] { probe_emit("src", "t", "sinkfail-but-not-for-all"); });
    // Both sinks throw on "sinkfail"; check the count and the log naming the sink position.
    EXPECT_EQ(gw_.metrics().counter_value("pipeline.p.failed"), 2u);
    EXPECT_TRUE(log_.contains("sink 1 'first' (sinks.first) failed")) << log_.joined();
    EXPECT_TRUE(log_.contains("sink 2 'second' (sinks.second) failed")) << log_.joined();
    on_loop([] { probe_emit("src", "t", "fine"); });
    EXPECT_EQ(Recorder::get().messages_of("first").size(), 1u);
    EXPECT_EQ(Recorder::get().messages_of("second").size(), 1u);
}

TEST_F(PipelineTest, OneSourceFeedsEveryPipelineThatStartsAtIt) {
    start(ConfigText()
              .source("src", "probe")
              .processor("a", "tag", "suffix = \"-a\"")
              .sink("x", "collect")
              .sink("y", "collect")
              .pipeline("one", "src", {"x"}, {"a"})
              .pipeline("two", "src", {"y"}));
    on_loop([] { probe_emit("src", "t", "m"); });
    EXPECT_EQ(payloads_of("x"), (std::vector<std::string>{"m-a"}));
    EXPECT_EQ(payloads_of("y"), (std::vector<std::string>{"m"}));
}

// The loopback connection "cloud" with its credentials "cred".
ConfigText cloud() {
    ConfigText config;
    config.credentials("cred", "static", "cert = \"/c.pem\"\nkey = \"/k.pem\"")
        .connection("cloud", "loopback", "credentials = \"cred\"");
    return config;
}

const std::string kConnection =
    cloud()
        .processor("a", "tag", "suffix = \"-a\"")
        .sink("log", "collect")
        .pipeline("cmd", "cloud:amr/${thing}/cmd/call", {"cloud:amr/${thing}/status", "log"}, {"a"});

TEST_F(PipelineTest, ConnectionEndpointsRouteOnlyTheirAddress) {
    start(kConnection);
    on_loop([] {
        EXPECT_EQ(connection_receive("cloud", "amr/AMR-001/cmd/call", "go"), IOTGW_OK);
        EXPECT_EQ(connection_receive("cloud", "amr/AMR-002/cmd/call", "other"), IOTGW_ERR_NOT_FOUND);
    });
    auto out = Recorder::get().messages_of("cloud");
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].topic, "amr/AMR-001/status");
    EXPECT_EQ(out[0].payload, "go-a");
    EXPECT_GT(out[0].endpoint, 1000u);
    EXPECT_EQ(payloads_of("log"), (std::vector<std::string>{"go-a"}));
}

TEST_F(PipelineTest, InstancesStartInDependencyOrderAndStopInReverse) {
    start(kConnection);
    gw_.stop();
    auto ev = Recorder::get().events();
    auto pos = [&](const std::string& e) { return std::find(ev.begin(), ev.end(), e) - ev.begin(); };
    EXPECT_LT(pos("start:cred"), pos("start:cloud"));
    EXPECT_LT(pos("start:cloud"), pos("start:a"));
    EXPECT_GT(pos("stop:cred"), pos("stop:cloud"));
    EXPECT_GT(pos("stop:cloud"), pos("stop:a"));
    EXPECT_GT(pos("destroy:cred"), pos("destroy:cloud"));
    EXPECT_LT(static_cast<size_t>(pos("destroy:cred")), ev.size());
}

TEST_F(PipelineTest, ARefusedEndpointFailsTheStartWithThePipelineAndReason) {
    const std::string error =
        start_error(cloud().sink("log", "collect").pipeline("cmd", "cloud:refuse", {"log"}));

    EXPECT_NE(error.find("pipeline 'cmd'"), std::string::npos) << error;
    EXPECT_NE(error.find("refused endpoint 'refuse': address 'refuse' is refused"), std::string::npos)
        << error;
    EXPECT_FALSE(gw_.running());
    // Everything created was destroyed again.
    EXPECT_TRUE(recorded("destroy:cloud"));
}

TEST_F(PipelineTest, CredentialsAreHandedToInstancesThatAsk) {
    start(probe_to_x({}, "credentials = \"cred\"")
              .credentials("cred", "static", "cert = \"/etc/iotgw/cert.pem\"\nkey = \"/etc/iotgw/key.pem\""));
    EXPECT_TRUE(recorded("credentials:/etc/iotgw/cert.pem|/etc/iotgw/key.pem"));
}

TEST_F(PipelineTest, AProcessorEmittingLaterContinuesAfterItsPosition) {
    start(probe_to_x({"hold", "a"})
              .processor("hold", "delayed", "delay = \"5ms\"")
              .processor("a", "tag", "suffix = \"-a\""));
    on_loop([] { probe_emit("src", "t", "m"); });
    EXPECT_TRUE(Recorder::get().messages().empty());
    io_.restart();
    io_.run_for(std::chrono::milliseconds(200));
    EXPECT_EQ(payloads_of("x"), (std::vector<std::string>{"m+later-a"}));
}

TEST_F(PipelineTest, ATimerPendingAtStopNeverFires) {
    start(probe_to_x({"hold"}).processor("hold", "delayed", "delay = \"20ms\""));
    on_loop([] { probe_emit("src", "t", "m"); });
    gw_.stop();
    io_.restart();
    io_.run_for(std::chrono::milliseconds(60));
    EXPECT_TRUE(Recorder::get().messages().empty());
}

TEST_F(PipelineTest, EmittingOffTheLoopThreadIsRefused) {
    start(kThreeStages);
    int rc = IOTGW_OK;
    std::thread t([&] { rc = probe_emit("src", "t", "x"); });
    t.join();
    EXPECT_EQ(rc, IOTGW_ERR_WRONG_THREAD);
    EXPECT_TRUE(Recorder::get().messages().empty());
}

TEST_F(PipelineTest, AStartFailureStopsWhatStartedInReverseAndReportsTheInstance) {
    const std::string error = start_error(probe_to_x({}, "fail_start = true"));
    EXPECT_NE(error.find("instance 'src' ([sources.src] at test.toml:"), std::string::npos) << error;
    EXPECT_NE(error.find("failed to start: simulated start failure"), std::string::npos) << error;
    EXPECT_TRUE(recorded("start:x"));
    EXPECT_TRUE(recorded("stop:x"));
    EXPECT_FALSE(recorded("stop:src"));
}

}  // namespace
}  // namespace iotgw::test
