// Reload: a new config replaces the running one; one that cannot start leaves the old running.
#include "runtime_test.hpp"

#include <algorithm>

namespace iotgw::test {
namespace {

// src -> tag "a" appending `suffix` -> collect "x" (whose start fails if `sink_fails_start`).
std::string config_with_suffix(const std::string& suffix, bool sink_fails_start = false) {
    return ConfigText()
        .source("src", "probe")
        .processor("a", "tag", "suffix = \"" + suffix + "\"")
        .sink("x", "collect", std::string("fail_start = ") + (sink_fails_start ? "true" : "false"))
        .pipeline("p", "src", {"x"}, {"a"});
}

class ReloadTest : public RuntimeTest {
protected:
    void emit(const std::string& payload) {
        on_loop([payload] { EXPECT_EQ(probe_emit("src", "t", payload), IOTGW_OK); });
    }
    std::vector<std::string> received() { return payloads_of("x"); }
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
    EXPECT_TRUE(recorded("create:a"));
    EXPECT_TRUE(recorded("destroy:a"));
    EXPECT_FALSE(recorded("start:a"));
}

}  // namespace
}  // namespace iotgw::test
