// Desired state through the whole call chain in one gateway: amr_call -> shadow, with a stand-in
// connection and a fake shadow service. A call the shadow processor makes is published on the
// call topic; the test plays the broker and feeds it back in at the call pipeline's input.
#include "doubles_gateway_test.hpp"
#include "fake_shadow_service.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace iotgw::test {
namespace {

using plugins::shadow::testing::FakeShadowService;
using plugins::shadow::testing::topic;

constexpr const char* kCall = "amr/AMR-001/cmd/call";
constexpr const char* kResult = "amr/AMR-001/cmd/result";
constexpr const char* kStatus = "amr/AMR-001/status";

class ShadowDesired : public DoublesGatewayTest {
protected:
    void start(const std::string& move_time = "150ms") {
        ASSERT_EQ(
            h.start(with_cloud_link()
                        .processor("amr", "amr_call", "move_time = \"" + move_time + "\"")
                        .processor("shadow", "shadow",
                                   "connection = \"cloud\"\nretry_min = \"20ms\"\nretry_max = \"40ms\"")
                        .pipeline("call", "cloud:amr/${thing}/cmd/call", {"cloud"}, {"amr", "shadow"})
                        .pipeline("shadow", "cloud:$aws/things/${thing}/shadow/name/robot/+/+", {"shadow"})),
            "");
        ASSERT_TRUE(run_until_seen_on(kStatus)) << h.log().joined();
        ASSERT_TRUE(doubles::link_state("cloud", true));
    }

    // Serve shadow requests and loop calls made by the gateway back in (the broker's part).
    void pump() {
        svc.serve();
        const auto calls = doubles::seen_on(kCall);
        for (; looped_ < calls.size(); ++looped_)
            doubles::link_receive("cloud", kCall, kCall, calls[looped_].payload);
        svc.serve();
    }
    bool pump_until(const std::function<bool()>& done,
                    std::chrono::milliseconds limit = std::chrono::seconds(3)) {
        return h.run_until(
            [&] {
                pump();
                return done();
            },
            limit);
    }
    std::string reported(const char* key) {
        const auto& st = svc.state();
        if (!st.HasMember("reported") || !st["reported"].HasMember(key)) return "<none>";
        return plugins::shadow::to_json(st["reported"][key]);
    }
    bool desired_empty() { return !svc.state().HasMember("desired"); }
    uint64_t counter(const std::string& name) { return counter_value(name); }

    FakeShadowService svc;
    std::size_t looped_ = 0;
};

TEST_F(ShadowDesired, DesiredMovingCallsTheAmrReportsMovingThenIdleAndClearsTheKey) {
    start();
    ASSERT_TRUE(pump_until([&] { return reported("state") == "\"idle\""; })) << h.log().joined();
    const int64_t before_s = FakeShadowService::now_s();
    svc.write_as_other(R"({"desired":{"state":"moving","target":"dock-3"}})");
    ASSERT_TRUE(pump_until([&] { return reported("state") == "\"moving\""; })) << h.log().joined();

    // The call went out on the call topic, in the form amr_call accepts, dated when desired was set.
    const auto calls = doubles::seen_on(kCall);
    ASSERT_EQ(calls.size(), 1u);
    rapidjson::Document call;
    call.Parse(calls[0].payload.c_str());
    ASSERT_TRUE(call.IsObject()) << calls[0].payload;
    const std::string id = call["id"].GetString();
    EXPECT_TRUE(has(id, "shadow-")) << id;
    EXPECT_EQ(call["target"].GetString(), std::string("dock-3"));
    EXPECT_GE(call["ts"].GetInt64(), before_s * 1000);
    EXPECT_LE(call["ts"].GetInt64(), now_ms());
    EXPECT_EQ(calls[0].qos, 1);
    EXPECT_FALSE(calls[0].retain);
    // amr_call answered it like any call.
    ASSERT_FALSE(doubles::seen_on(kResult).empty());
    EXPECT_TRUE(has(doubles::seen_on(kResult).back().payload, R"("result":"accepted")"));

    // Moving is reported together with the outcome, and the handled keys are cleared with null.
    EXPECT_EQ(reported("command_id"), "\"" + id + "\"");
    EXPECT_TRUE(has(reported("desired_result"), R"("result":"accepted")")) << reported("desired_result");
    EXPECT_TRUE(has(reported("desired_result"), R"("id":")" + id + "\""));
    EXPECT_TRUE(desired_empty()) << svc.state_json();
    bool cleared_with_null = false;
    for (const auto& s : doubles::seen_on(topic("update")))
        cleared_with_null = cleared_with_null || has(s.payload, R"("desired":{"state":null,"target":null})");
    EXPECT_TRUE(cleared_with_null);

    // The move ends by itself: idle is reported; no second call.
    ASSERT_TRUE(pump_until([&] { return reported("state") == "\"idle\""; })) << h.log().joined();
    EXPECT_EQ(doubles::seen_on(kCall).size(), 1u);
    EXPECT_EQ(counter("amr.accepted"), 1u);
    EXPECT_EQ(counter("shadow.desired_calls"), 1u);
    EXPECT_EQ(counter("shadow.desired_refused"), 0u);
}

TEST_F(ShadowDesired, AnInvalidDesiredValueIsRefusedReportedAndNeverApplied) {
    start();
    ASSERT_TRUE(pump_until([&] { return reported("state") == "\"idle\""; }));
    for (const char* bad : {R"({"desired":{"state":"flying"}})", R"({"desired":{"state":7}})",
                            R"({"desired":{"speed":{"max":{"x":1}}}})", R"({"desired":{"a\u0000b":1}})",
                            R"({"desired":{"target":"dock"}})"}) {
        const uint64_t refused = counter("shadow.desired_refused");
        svc.write_as_other(bad);
        ASSERT_TRUE(pump_until([&] {
            return desired_empty() && counter("shadow.desired_refused") > refused;
        })) << bad
            << "\n"
            << svc.state_json() << "\n"
            << h.log().joined();
        EXPECT_TRUE(has(reported("desired_result"), R"("result":"refused","reason":"invalid_desired")"))
            << reported("desired_result");
    }
    EXPECT_TRUE(has(reported("desired_result"), "desired has 'target' without 'state'"))
        << reported("desired_result");
    EXPECT_TRUE(doubles::seen_on(kCall).empty());
    EXPECT_EQ(reported("state"), "\"idle\"");
    EXPECT_EQ(counter("amr.commands"), 0u);
    EXPECT_TRUE(h.log().contains(
        "refused, not applied: desired.state 'flying' is not a state the AMR can be asked for"));
}

TEST_F(ShadowDesired, DesiredMovingWhileMovingIsRefusedByTheCallRulesAsBusy) {
    start("1h");
    ASSERT_TRUE(pump_until([&] { return reported("state") == "\"idle\""; }));
    ASSERT_TRUE(doubles::link_receive("cloud", kCall, kCall,
                                      R"({"id":"console-1","ts":)" + std::to_string(now_ms()) + "}"));
    looped_ = doubles::seen_on(kCall).size();
    ASSERT_TRUE(pump_until([&] { return reported("state") == "\"moving\""; })) << h.log().joined();

    svc.write_as_other(R"({"desired":{"state":"moving"}})");
    ASSERT_TRUE(pump_until([&] { return desired_empty() && reported("desired_result") != "<none>"; }))
        << svc.state_json() << h.log().joined();
    EXPECT_TRUE(has(reported("desired_result"), R"("result":"refused","reason":"busy")"))
        << reported("desired_result");
    EXPECT_EQ(counter("amr.accepted"), 1u);  // no second move
    EXPECT_EQ(counter("amr.refused_busy"), 1u);
    EXPECT_EQ(reported("command_id"), "\"console-1\"");
    EXPECT_TRUE(h.log().contains("not applied: call '")) << h.log().joined();
}

TEST_F(ShadowDesired, DesiredIdleIsMetOnceTheAmrIsIdle) {
    start("300ms");
    ASSERT_TRUE(pump_until([&] { return reported("state") == "\"idle\""; }));
    ASSERT_TRUE(
        doubles::link_receive("cloud", kCall, kCall, R"({"id":"c1","ts":)" + std::to_string(now_ms()) + "}"));
    looped_ = doubles::seen_on(kCall).size();
    ASSERT_TRUE(pump_until([&] { return reported("state") == "\"moving\""; }));
    svc.write_as_other(R"({"desired":{"state":"idle"}})");
    pump();
    EXPECT_FALSE(desired_empty());  // not yet: the AMR is still moving
    ASSERT_TRUE(pump_until([&] { return desired_empty(); })) << svc.state_json();
    EXPECT_EQ(reported("state"), "\"idle\"");
    EXPECT_TRUE(has(reported("desired_result"), R"("result":"accepted","detail":"the AMR is idle")"));
    EXPECT_EQ(doubles::seen_on(kCall).size(), 0u);
}

TEST_F(ShadowDesired, DesiredLeftStandingLongerThanTheCommandTtlIsRefusedAsStale) {
    start();
    ASSERT_TRUE(pump_until([&] { return reported("state") == "\"idle\""; }));
    // Set an hour ago (the shadow's metadata says when), e.g. while the AMR was offline.
    svc.skip_sent();
    const int64_t hour_ago = FakeShadowService::now_s() - 3600;
    svc.version += 1;
    ASSERT_TRUE(plugins::shadow::testing::deliver(
        "update/accepted",
        R"({"state":{"desired":{"state":"moving"}},"metadata":{"desired":{"state":{"timestamp":)" +
            std::to_string(hour_ago) + R"(}}},"version":)" + std::to_string(svc.version) +
            R"(,"clientToken":"other-client"})"));
    svc.state().AddMember("desired", rapidjson::Value(rapidjson::kObjectType), svc.state().GetAllocator());
    svc.state()["desired"].AddMember("state", "moving", svc.state().GetAllocator());
    ASSERT_TRUE(pump_until([&] { return desired_empty(); })) << svc.state_json() << h.log().joined();
    EXPECT_TRUE(has(reported("desired_result"), R"("result":"refused","reason":"stale")"))
        << reported("desired_result");
    EXPECT_EQ(counter("amr.refused_stale"), 1u);
    EXPECT_EQ(reported("state"), "\"idle\"");
}

}  // namespace
}  // namespace iotgw::test
