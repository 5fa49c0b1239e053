// Pipeline routing, fan-out, endpoints and failure isolation on a real Gateway and event loop.
#include "test_plugins.hpp"
#include "test_support.hpp"

#include <iotgw/core/gateway.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace iotgw::test {
namespace {

class PipelineTest : public ::testing::Test {
protected:
    void SetUp() override {
        Recorder::get().reset();
        register_test_plugins(registry_);
    }

    // Start `toml`, then run `body` on the loop thread (where plugins are called).
    void start(const std::string& toml) {
        auto cfg = test_config(registry_, toml);
        ASSERT_TRUE(cfg);
        std::string error;
        ASSERT_TRUE(gw_.start(std::move(*cfg), error)) << error;
    }
    template <class F>
    void on_loop(F&& f) {
        boost::asio::post(io_, std::forward<F>(f));
        io_.restart();
        io_.poll();
    }

    static std::vector<std::string> payloads(const std::vector<Recorded>& rs) {
        std::vector<std::string> out;
        for (const auto& r : rs) out.push_back(r.payload);
        return out;
    }

    CapturingLog log_;
    core::PluginRegistry registry_{core::host_api_table()};
    boost::asio::io_context io_;
    core::Gateway gw_{io_, log_.logger()};
};

constexpr const char* kThreeStages = R"(
[gateway]
thing = "AMR-001"
[sources.src]
type = "probe"
[processors.a]
type = "tag"
suffix = "-a"
[processors.b]
type = "tag"
suffix = "-b"
[processors.c]
type = "tag"
suffix = "-c"
[sinks.out1]
type = "collect"
[sinks.out2]
type = "collect"
[[pipelines]]
name = "main"
from = "src"
via = ["a", "b", "c"]
to = ["out1", "out2"]
)";

TEST_F(PipelineTest, StagesRunInOrderAndFanOutToEverySink) {
    start(kThreeStages);
    on_loop([] {
        EXPECT_EQ(probe_emit("src", "t/1", "x"), IOTGW_OK);
        EXPECT_EQ(probe_emit("src", "t/2", "y"), IOTGW_OK);
    });
    EXPECT_EQ(payloads(Recorder::get().messages_of("out1")), (std::vector<std::string>{"x-a-b-c", "y-a-b-c"}));
    EXPECT_EQ(payloads(Recorder::get().messages_of("out2")), (std::vector<std::string>{"x-a-b-c", "y-a-b-c"}));
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
    EXPECT_EQ(payloads(Recorder::get().messages_of("out1")), (std::vector<std::string>{"ok-a-b-c"}));
    EXPECT_EQ(gw_.metrics().counter_value("pipeline.main.failed"), 1u);
    EXPECT_TRUE(log_.contains("<3>pipeline main: stage 1 'a' (processors.a) failed (status 8): payload says fail; "
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
    start(R"(
[gateway]
thing = "AMR-001"
[sources.src]
type = "probe"
[sinks.first]
type = "collect"
[sinks.second]
type = "collect"
[[pipelines]]
name = "p"
from = "src"
to = ["first", "second"]
)");
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
    start(R"(
[gateway]
thing = "AMR-001"
[sources.src]
type = "probe"
[processors.a]
type = "tag"
suffix = "-a"
[sinks.x]
type = "collect"
[sinks.y]
type = "collect"
[[pipelines]]
name = "one"
from = "src"
via = ["a"]
to = ["x"]
[[pipelines]]
name = "two"
from = "src"
to = ["y"]
)");
    on_loop([] { probe_emit("src", "t", "m"); });
    EXPECT_EQ(payloads(Recorder::get().messages_of("x")), (std::vector<std::string>{"m-a"}));
    EXPECT_EQ(payloads(Recorder::get().messages_of("y")), (std::vector<std::string>{"m"}));
}

constexpr const char* kConnection = R"(
[gateway]
thing = "AMR-001"
[credentials.cred]
type = "static"
cert = "/c.pem"
key = "/k.pem"
[connections.cloud]
type = "loopback"
credentials = "cred"
[processors.a]
type = "tag"
suffix = "-a"
[sinks.log]
type = "collect"
[[pipelines]]
name = "cmd"
from = "cloud:amr/${thing}/cmd/call"
via = ["a"]
to = ["cloud:amr/${thing}/status", "log"]
)";

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
    EXPECT_EQ(payloads(Recorder::get().messages_of("log")), (std::vector<std::string>{"go-a"}));
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
    auto cfg = test_config(registry_, R"(
[gateway]
thing = "AMR-001"
[credentials.cred]
type = "static"
cert = "/c.pem"
key = "/k.pem"
[connections.cloud]
type = "loopback"
credentials = "cred"
[sinks.log]
type = "collect"
[[pipelines]]
name = "cmd"
from = "cloud:refuse"
to = ["log"]
)");
    ASSERT_TRUE(cfg);
    std::string error;
    EXPECT_FALSE(gw_.start(std::move(*cfg), error));
    EXPECT_NE(error.find("pipeline 'cmd'"), std::string::npos) << error;
    EXPECT_NE(error.find("refused endpoint 'refuse': address 'refuse' is refused"), std::string::npos) << error;
    EXPECT_FALSE(gw_.running());
    // Everything created was destroyed again.
    auto ev = Recorder::get().events();
    EXPECT_NE(std::find(ev.begin(), ev.end(), "destroy:cloud"), ev.end());
}

TEST_F(PipelineTest, CredentialsAreHandedToInstancesThatAsk) {
    start(R"(
[gateway]
thing = "AMR-001"
[credentials.cred]
type = "static"
cert = "/etc/iotgw/cert.pem"
key = "/etc/iotgw/key.pem"
[sources.src]
type = "probe"
credentials = "cred"
[sinks.x]
type = "collect"
[[pipelines]]
name = "p"
from = "src"
to = ["x"]
)");
    auto ev = Recorder::get().events();
    EXPECT_NE(std::find(ev.begin(), ev.end(), "credentials:/etc/iotgw/cert.pem|/etc/iotgw/key.pem"), ev.end());
}

TEST_F(PipelineTest, AProcessorEmittingLaterContinuesAfterItsPosition) {
    start(R"(
[gateway]
thing = "AMR-001"
[sources.src]
type = "probe"
[processors.hold]
type = "delayed"
delay = "5ms"
[processors.a]
type = "tag"
suffix = "-a"
[sinks.x]
type = "collect"
[[pipelines]]
name = "p"
from = "src"
via = ["hold", "a"]
to = ["x"]
)");
    on_loop([] { probe_emit("src", "t", "m"); });
    EXPECT_TRUE(Recorder::get().messages().empty());
    io_.restart();
    io_.run_for(std::chrono::milliseconds(200));
    EXPECT_EQ(payloads(Recorder::get().messages_of("x")), (std::vector<std::string>{"m+later-a"}));
}

TEST_F(PipelineTest, ATimerPendingAtStopNeverFires) {
    start(R"(
[gateway]
thing = "AMR-001"
[sources.src]
type = "probe"
[processors.hold]
type = "delayed"
delay = "20ms"
[sinks.x]
type = "collect"
[[pipelines]]
name = "p"
from = "src"
via = ["hold"]
to = ["x"]
)");
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
    auto cfg = test_config(registry_, R"(
[gateway]
thing = "AMR-001"
[sources.src]
type = "probe"
fail_start = true
[sinks.x]
type = "collect"
[[pipelines]]
name = "p"
from = "src"
to = ["x"]
)");
    ASSERT_TRUE(cfg);
    std::string error;
    EXPECT_FALSE(gw_.start(std::move(*cfg), error));
    EXPECT_NE(error.find("instance 'src' ([sources.src] at test.toml:"), std::string::npos) << error;
    EXPECT_NE(error.find("failed to start: simulated start failure"), std::string::npos) << error;
    auto ev = Recorder::get().events();
    EXPECT_NE(std::find(ev.begin(), ev.end(), "start:x"), ev.end());
    EXPECT_NE(std::find(ev.begin(), ev.end(), "stop:x"), ev.end());
    EXPECT_EQ(std::find(ev.begin(), ev.end(), "stop:src"), ev.end());
}

}  // namespace
}  // namespace iotgw::test
