// The `status` processor in a real gateway with a stand-in connection: pass-through, QoS 1 +
// retain forced on the status topic, and a republish of the last status on every connect.
#include "doubles_gateway_test.hpp"

#include <gtest/gtest.h>

#include <string>

namespace iotgw::test {
namespace {

constexpr const char* kStatus = "amr/AMR-001/status";

// The `status` instance "st" between a feed and the connection, watching `connection`.
std::string config(const std::string& connection) {
    return with_cloud_link()
        .source("feed", "test_feed")
        .processor("st", "status", "connection = \"" + connection + "\"")
        .pipeline("up", "feed", {"cloud"}, {"st"});
}

class StatusPlugin : public DoublesGatewayTest {
protected:
    std::string start() { return h.start(config("cloud")); }

    uint64_t republished() { return counter_value("st.republished"); }
};

TEST_F(StatusPlugin, OtherMessagesPassUnchangedAndTheStatusIsForcedToQos1Retained) {
    ASSERT_EQ(start(), "");
    ASSERT_TRUE(doubles::feed("feed", "amr/AMR-001/telemetry", "t1", 0, false));
    ASSERT_TRUE(doubles::feed("feed", kStatus, R"({"state":"idle","seq":1})", 0, false));
    const auto all = doubles::seen();
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].topic, "amr/AMR-001/telemetry");
    EXPECT_EQ(all[0].payload, "t1");
    EXPECT_EQ(all[0].qos, 0);
    EXPECT_FALSE(all[0].retain);
    EXPECT_EQ(all[1].payload, R"({"state":"idle","seq":1})");
    EXPECT_EQ(all[1].qos, 1);
    EXPECT_TRUE(all[1].retain);
}

TEST_F(StatusPlugin, EveryConnectRepublishesTheLastStatus) {
    ASSERT_EQ(start(), "");
    ASSERT_TRUE(doubles::feed("feed", kStatus, R"({"state":"idle","seq":1})"));
    ASSERT_TRUE(doubles::feed("feed", kStatus, R"({"state":"moving","seq":2})"));
    doubles::clear_seen();

    ASSERT_TRUE(doubles::link_state("cloud", false));
    EXPECT_TRUE(doubles::seen().empty());  // nothing to do while disconnected
    ASSERT_TRUE(doubles::link_state("cloud", true));
    auto all = doubles::seen();
    ASSERT_EQ(all.size(), 1u) << h.log().joined();
    EXPECT_EQ(all[0].topic, kStatus);
    EXPECT_EQ(all[0].payload, R"({"state":"moving","seq":2})");  // the last one, unchanged
    EXPECT_EQ(all[0].qos, 1);
    EXPECT_TRUE(all[0].retain);
    EXPECT_EQ(republished(), 1u);
    EXPECT_TRUE(h.log().contains("'cloud' connected: republishing the last status on amr/AMR-001/status"));

    ASSERT_TRUE(doubles::link_state("cloud", false));
    ASSERT_TRUE(doubles::link_state("cloud", true));
    EXPECT_EQ(doubles::seen().size(), 2u);
    EXPECT_EQ(republished(), 2u);
}

TEST_F(StatusPlugin, AConnectBeforeAnyStatusRepublishesNothing) {
    ASSERT_EQ(start(), "");
    ASSERT_TRUE(doubles::link_state("cloud", true));
    EXPECT_TRUE(doubles::seen().empty());
    EXPECT_EQ(republished(), 0u);
}

TEST_F(StatusPlugin, TheConnectionMustBeAConnectionInstance) {
    const std::string errors = h.load(config("feed"));
    EXPECT_TRUE(has(errors, "test.toml:10:")) << errors;
    EXPECT_TRUE(has(errors, "connection")) << errors;
}

// The whole AMR chain as deployed: commands from the cloud through amr_call and status back to
// the cloud. A reconnect puts the current status back on the broker, over a possible Will.
TEST_F(StatusPlugin, WithAmrCallTheCurrentStateIsRepublishedAfterAReconnect) {
    ASSERT_EQ(h.start(with_cloud_link()
                          .processor("amr", "amr_call", "move_time = \"1h\"")
                          .processor("st", "status", "connection = \"cloud\"")
                          .pipeline("calls", "cloud:amr/${thing}/cmd/call", {"cloud"}, {"amr", "st"})),
              "");
    ASSERT_TRUE(run_until_seen_on(kStatus)) << h.log().joined();
    const int64_t now = now_ms();
    ASSERT_TRUE(doubles::link_receive("cloud", "amr/AMR-001/cmd/call", "amr/AMR-001/cmd/call",
                                      R"({"id":"c1","ts":)" + std::to_string(now) + "}"));
    ASSERT_EQ(doubles::seen_on(kStatus).size(), 2u) << h.log().joined();
    doubles::clear_seen();

    // The session dropped (the broker published the Will "offline") and came back.
    ASSERT_TRUE(doubles::link_state("cloud", false));
    ASSERT_TRUE(doubles::link_state("cloud", true));
    const auto all = doubles::seen();
    ASSERT_EQ(all.size(), 1u) << h.log().joined();
    EXPECT_EQ(all[0].topic, kStatus);
    EXPECT_TRUE(has(all[0].payload, R"({"state":"moving","seq":2,)")) << all[0].payload;
    EXPECT_TRUE(all[0].retain);
}

}  // namespace
}  // namespace iotgw::test
