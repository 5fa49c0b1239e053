// Reload: a new config replaces the running one; one that cannot start leaves the old running.
#include "test_plugins.hpp"
#include "test_support.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <gtest/gtest.h>

namespace iotgw::test {
namespace {

std::string config_with_suffix(const std::string& suffix, bool sink_fails_start = false) {
    return std::string(R"(
[gateway]
thing = "AMR-001"
[sources.src]
type = "probe"
[processors.a]
type = "tag"
suffix = ")") + suffix + R"("
[sinks.x]
type = "collect"
fail_start = )" + (sink_fails_start ? "true" : "false") + R"(
[[pipelines]]
name = "p"
from = "src"
via = ["a"]
to = ["x"]
)";
}

class ReloadTest : public ::testing::Test {
protected:
    void SetUp() override {
        Recorder::get().reset();
        register_test_plugins(registry_);
    }
    void emit(const std::string& payload) {
        boost::asio::post(io_, [payload] { EXPECT_EQ(probe_emit("src", "t", payload), IOTGW_OK); });
        io_.restart();
        io_.poll();
    }
    std::vector<std::string> received() {
        std::vector<std::string> out;
        for (const auto& m : Recorder::get().messages_of("x")) out.push_back(m.payload);
        return out;
    }

    CapturingLog log_;
    core::PluginRegistry registry_{core::host_api_table()};
    boost::asio::io_context io_;
    core::Gateway gw_{io_, log_.logger()};
};

TEST_F(ReloadTest, AValidNewConfigReplacesTheRunningOne) {
    auto first = test_config(registry_, config_with_suffix("-old"));
    std::string error;
    ASSERT_TRUE(gw_.start(std::move(*first), error)) << error;
    emit("m");
    auto second = test_config(registry_, config_with_suffix("-new"));
    ASSERT_TRUE(gw_.reload(std::move(*second), error)) << error;
    emit("m");
    EXPECT_EQ(received(), (std::vector<std::string>{"m-old", "m-new"}));
    EXPECT_TRUE(log_.contains("reloaded configuration")) << log_.joined();
    // Metrics carry on across the reload.
    EXPECT_EQ(gw_.metrics().counter_value("pipeline.p.received"), 2u);
}

TEST_F(ReloadTest, ANewConfigThatFailsToStartIsRefusedAndTheOldOneRunsAgain) {
    auto first = test_config(registry_, config_with_suffix("-old"));
    std::string error;
    ASSERT_TRUE(gw_.start(std::move(*first), error)) << error;
    auto broken = test_config(registry_, config_with_suffix("-new", true));
    EXPECT_FALSE(gw_.reload(std::move(*broken), error));
    EXPECT_NE(error.find("failed to start: simulated start failure"), std::string::npos) << error;
    ASSERT_TRUE(gw_.running());
    emit("m");
    EXPECT_EQ(received(), (std::vector<std::string>{"m-old"}));
    EXPECT_TRUE(log_.contains("restoring the previous configuration")) << log_.joined();
}

TEST_F(ReloadTest, DryRunCreatesAndDestroysWithoutStarting) {
    auto cfg = test_config(registry_, config_with_suffix("-x"));
    std::string error;
    ASSERT_TRUE(core::Gateway::dry_run(io_, log_.logger(), *cfg, error)) << error;
    auto ev = Recorder::get().events();
    EXPECT_NE(std::find(ev.begin(), ev.end(), "create:a"), ev.end());
    EXPECT_NE(std::find(ev.begin(), ev.end(), "destroy:a"), ev.end());
    EXPECT_EQ(std::find(ev.begin(), ev.end(), "start:a"), ev.end());
}

}  // namespace
}  // namespace iotgw::test
