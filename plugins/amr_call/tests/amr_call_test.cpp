// The `amr_call` processor in a real gateway, fed by a stand-in connection: the result/status
// contract, the order of messages, and bad input answered without stopping anything.
#include "doubles_gateway_test.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>

namespace iotgw::test {
namespace {

using doubles::Seen;

constexpr const char* kCall = "amr/AMR-001/cmd/call";
constexpr const char* kResult = "amr/AMR-001/cmd/result";
constexpr const char* kStatus = "amr/AMR-001/status";

std::string call(const std::string& id, int64_t ts = now_ms()) {
    return R"({"id":")" + id + R"(","ts":)" + std::to_string(ts) + "}";
}

// The calls pipeline with the `amr_call` instance "amr" configured with `amr_fields`.
std::string config(const std::string& amr_fields) {
    return with_cloud_link()
        .processor("amr", "amr_call", amr_fields)
        .pipeline("calls", "cloud:amr/${thing}/cmd/call", {"cloud"}, {"amr"});
}

class AmrCallPlugin : public DoublesGatewayTest {
protected:
    std::string start(const std::string& amr_fields = "move_time = \"50ms\"") {
        return h.start(config(amr_fields));
    }

    // Start, wait for the initial idle status, forget it.
    void start_idle(const std::string& amr_fields = "move_time = \"50ms\"") {
        ASSERT_EQ(start(amr_fields), "");
        ASSERT_TRUE(run_until_seen_on(kStatus)) << h.log().joined();
        doubles::clear_seen();
    }

    void send(const std::string& payload) {
        ASSERT_TRUE(doubles::link_receive("cloud", kCall, kCall, payload)) << h.log().joined();
    }

    bool wait_for(size_t n_messages) {
        return h.run_until([&] { return doubles::seen().size() >= n_messages; });
    }

    uint64_t counter(const std::string& name) { return counter_value("amr." + name); }
};

TEST_F(AmrCallPlugin, AtStartTheIdleStatusIsPublishedRetained) {
    ASSERT_EQ(start(), "");
    ASSERT_TRUE(run_until_seen_on(kStatus)) << h.log().joined();
    const Seen s = doubles::seen_on(kStatus).front();
    EXPECT_TRUE(has(s.payload, R"({"state":"idle","seq":1,"ts":)")) << s.payload;
    EXPECT_EQ(s.qos, 1);
    EXPECT_TRUE(s.retain);
    EXPECT_EQ(s.instance, "cloud");
}

TEST_F(AmrCallPlugin, ACallIsAcceptedThenMovingThenIdleInThisOrder) {
    start_idle();
    send(call("c-1"));
    ASSERT_TRUE(wait_for(3)) << h.log().joined();
    const auto all = doubles::seen();
    ASSERT_EQ(all.size(), 3u);

    EXPECT_EQ(all[0].topic, kResult);
    EXPECT_TRUE(has(all[0].payload, R"({"id":"c-1","result":"accepted","state":"moving","ts":)"))
        << all[0].payload;
    EXPECT_EQ(all[0].qos, 1);
    EXPECT_FALSE(all[0].retain);

    EXPECT_EQ(all[1].topic, kStatus);
    EXPECT_TRUE(has(all[1].payload, R"({"state":"moving","seq":2,)")) << all[1].payload;
    EXPECT_TRUE(has(all[1].payload, R"("command_id":"c-1")")) << all[1].payload;
    EXPECT_TRUE(all[1].retain);

    EXPECT_EQ(all[2].topic, kStatus);
    EXPECT_TRUE(has(all[2].payload, R"({"state":"idle","seq":3,)")) << all[2].payload;
    EXPECT_FALSE(has(all[2].payload, "error")) << all[2].payload;
    EXPECT_TRUE(all[2].retain);

    EXPECT_EQ(counter("commands"), 1u);
    EXPECT_EQ(counter("accepted"), 1u);
    EXPECT_TRUE(h.log().contains("call 'c-1' accepted: moving"));
    EXPECT_TRUE(h.log().contains("call 'c-1' done: idle"));
}

TEST_F(AmrCallPlugin, AZeroMoveTimeStillReportsMovingBeforeIdle) {
    start_idle("move_time = \"0s\"");
    send(call("fast"));
    ASSERT_TRUE(wait_for(3)) << h.log().joined();
    const auto statuses = doubles::seen_on(kStatus);
    ASSERT_EQ(statuses.size(), 2u);
    EXPECT_TRUE(has(statuses[0].payload, R"("state":"moving")"));
    EXPECT_TRUE(has(statuses[1].payload, R"("state":"idle")"));
}

TEST_F(AmrCallPlugin, ACallWhileMovingIsRefusedBusyAndAcceptedAgainOnceIdle) {
    start_idle("move_time = \"300ms\"");
    send(call("c-1"));
    send(call("c-2"));
    ASSERT_TRUE(wait_for(3)) << h.log().joined();
    const auto results = doubles::seen_on(kResult);
    ASSERT_EQ(results.size(), 2u);
    EXPECT_TRUE(has(results[1].payload, R"({"id":"c-2","result":"refused","reason":"busy",)"))
        << results[1].payload;
    EXPECT_TRUE(has(results[1].payload, R"("state":"moving")")) << results[1].payload;
    EXPECT_TRUE(h.log().contains("call refused on amr/AMR-001/cmd/call (id 'c-2'): busy"));

    ASSERT_TRUE(h.run_until([] { return doubles::seen_on(kStatus).size() >= 2; })) << h.log().joined();
    send(call("c-3"));
    ASSERT_TRUE(h.run_until([] { return doubles::seen_on(kResult).size() >= 3; }));
    EXPECT_TRUE(has(doubles::seen_on(kResult)[2].payload, R"("result":"accepted")"));
    EXPECT_EQ(counter("refused_busy"), 1u);
    EXPECT_EQ(counter("accepted"), 2u);
}

TEST_F(AmrCallPlugin, MalformedPayloadsAreAnsweredAndTheGatewayKeepsRunning) {
    start_idle();
    const std::string payloads[] = {"",
                                    "call me",
                                    "[1,2]",
                                    R"({"ts":1})",
                                    R"({"id":"a b","ts":1})",
                                    R"({"id":"ok","ts":"now"})",
                                    std::string(5000, 'x')};
    for (const auto& p : payloads) send(p);
    ASSERT_TRUE(h.run_until([&] { return doubles::seen_on(kResult).size() >= std::size(payloads); }))
        << h.log().joined();
    const auto results = doubles::seen_on(kResult);
    const char* reasons[] = {"not_json", "not_json", "not_object", "bad_id", "bad_id", "bad_ts", "oversized"};
    for (size_t i = 0; i < std::size(payloads); ++i) {
        EXPECT_TRUE(
            has(results[i].payload, R"("result":"refused","reason":")" + std::string(reasons[i]) + "\""))
            << i << ": " << results[i].payload;
        EXPECT_TRUE(has(results[i].payload, R"("state":"idle")")) << results[i].payload;
    }
    EXPECT_TRUE(has(results[0].payload, R"({"id":null,)")) << results[0].payload;
    EXPECT_TRUE(has(results[5].payload, R"({"id":"ok",)")) << results[5].payload;  // a valid id is echoed
    EXPECT_TRUE(doubles::seen_on(kStatus).empty());                                // nothing moved
    EXPECT_EQ(counter("refused"), std::size(payloads));
    EXPECT_EQ(counter("refused_not_json"), 2u);
    EXPECT_EQ(counter("refused_oversized"), 1u);
    EXPECT_EQ(counter_value("pipeline.calls.failed"), 0u);  // data, not stage failures
    EXPECT_TRUE(h.log().contains("call refused on amr/AMR-001/cmd/call (id none): not_json: not JSON: "));

    // Still working.
    send(call("after"));
    ASSERT_TRUE(h.run_until([] { return doubles::seen_on(kStatus).size() >= 2; })) << h.log().joined();
    EXPECT_TRUE(has(doubles::seen_on(kResult).back().payload, R"({"id":"after","result":"accepted")"));
}

TEST_F(AmrCallPlugin, ARedeliveredCallIsADuplicateWithoutASecondMove) {
    start_idle();
    send(call("c-1"));
    ASSERT_TRUE(wait_for(3)) << h.log().joined();  // result, moving, idle
    send(call("c-1"));
    ASSERT_TRUE(h.run_until([] { return doubles::seen_on(kResult).size() >= 2; }));
    h.run_for(std::chrono::milliseconds(100));  // a second move would show as a status by now
    EXPECT_EQ(doubles::seen_on(kStatus).size(), 2u);
    const std::string dup = doubles::seen_on(kResult)[1].payload;
    EXPECT_TRUE(has(dup, R"({"id":"c-1","result":"duplicate","reason":"duplicate",)")) << dup;
    EXPECT_TRUE(has(dup, R"("original":"accepted")")) << dup;
    EXPECT_EQ(counter("duplicates"), 1u);
    EXPECT_EQ(counter("accepted"), 1u);
}

// Issue 16: the dedupe table lived in memory only, so a QoS 1 redelivery after a gateway restart
// within command_ttl moved the robot a second time. The accepted ids are kept in state_dir, written
// before the move begins.
TEST_F(AmrCallPlugin, ACallRedeliveredAfterARestartIsADuplicateWithoutASecondMove) {
    TempDir state;
    const std::string fields = "move_time = \"0s\"\nstate_dir = \"" + (state.path() / "amr").string() + "\"";
    const std::string c1 = call("c-1");
    {
        DoublesHarness first;
        ASSERT_EQ(first.start(config(fields)), "") << first.log().joined();
        ASSERT_TRUE(first.run_until([] { return !doubles::seen_on(kStatus).empty(); })) << first.log().joined();
        ASSERT_TRUE(doubles::link_receive("cloud", kCall, kCall, c1));
        ASSERT_TRUE(first.run_until([] { return doubles::seen_on(kStatus).size() >= 3; })) << first.log().joined();
        EXPECT_TRUE(has(doubles::seen_on(kResult).at(0).payload, R"({"id":"c-1","result":"accepted")"));
    }  // the gateway stops; the broker redelivers the unacknowledged call to the next one
    EXPECT_TRUE(std::filesystem::exists(state.path() / "amr" / "accepted_calls.json"));
    doubles::clear_seen();

    start_idle(fields);
    send(c1);
    ASSERT_TRUE(h.run_until([] { return !doubles::seen_on(kResult).empty(); })) << h.log().joined();
    h.run_for(std::chrono::milliseconds(100));  // a second move would show as a status by now
    const std::string dup = doubles::seen_on(kResult).at(0).payload;
    EXPECT_TRUE(has(dup, R"({"id":"c-1","result":"duplicate","reason":"duplicate",)")) << dup;
    EXPECT_TRUE(has(dup, R"("original":"accepted")")) << dup;
    EXPECT_TRUE(doubles::seen_on(kStatus).empty()) << doubles::seen_on(kStatus).front().payload;
    EXPECT_EQ(counter("accepted"), 0u);
    EXPECT_TRUE(h.log().contains("1 accepted call id(s) still within command_ttl restored from"))
        << h.log().joined();

    // A new id still moves.
    send(call("c-2"));
    ASSERT_TRUE(h.run_until([] { return doubles::seen_on(kStatus).size() >= 2; })) << h.log().joined();
}

// A file that is not ours is reported with its path and what is wrong, and the gateway runs on.
TEST_F(AmrCallPlugin, AnUnreadableStateFileIsReportedAndTheGatewayRuns) {
    TempDir state;
    state.write("amr/accepted_calls.json", "{not json");
    start_idle("state_dir = \"" + (state.path() / "amr").string() + "\"");
    EXPECT_TRUE(h.log().contains((state.path() / "amr" / "accepted_calls.json").string() +
                                 ": not a list of accepted call ids"))
        << h.log().joined();
    send(call("c-1"));
    ASSERT_TRUE(h.run_until([] { return !doubles::seen_on(kResult).empty(); })) << h.log().joined();
    EXPECT_TRUE(has(doubles::seen_on(kResult).at(0).payload, R"("result":"accepted")"));
}

// Write before act: a call whose id cannot be recorded does not move.
TEST_F(AmrCallPlugin, ACallWhoseIdCannotBeRecordedIsRefusedWithoutAMove) {
    TempDir state;
    const auto not_a_dir = state.write("taken", "a file where the state directory should be");
    start_idle("state_dir = \"" + not_a_dir.string() + "\"");
    send(call("c-1"));
    ASSERT_TRUE(h.run_until([] { return !doubles::seen_on(kResult).empty(); })) << h.log().joined();
    h.run_for(std::chrono::milliseconds(100));
    const std::string r = doubles::seen_on(kResult).at(0).payload;
    EXPECT_TRUE(has(r, R"({"id":"c-1","result":"refused","reason":"state_error",)")) << r;
    EXPECT_TRUE(has(r, "cannot create state_dir '" + not_a_dir.string() + "'")) << r;
    EXPECT_TRUE(doubles::seen_on(kStatus).empty());
    EXPECT_EQ(counter("refused_state_error"), 1u);
}

TEST_F(AmrCallPlugin, AStaleCallQueuedWhileOfflineDoesNotMove) {
    start_idle();
    send(call("old", now_ms() - 3'600'000));
    send(call("ahead", now_ms() + 600'000));
    ASSERT_TRUE(h.run_until([] { return doubles::seen_on(kResult).size() >= 2; })) << h.log().joined();
    const auto results = doubles::seen_on(kResult);
    EXPECT_TRUE(has(results[0].payload, R"({"id":"old","result":"refused","reason":"stale",)"))
        << results[0].payload;
    EXPECT_TRUE(has(results[1].payload, R"({"id":"ahead","result":"refused","reason":"future",)"))
        << results[1].payload;
    EXPECT_TRUE(doubles::seen_on(kStatus).empty());
    EXPECT_EQ(counter("refused_stale"), 1u);
    EXPECT_EQ(counter("refused_future"), 1u);
}

TEST_F(AmrCallPlugin, TopicsAreConfigurableAndWildcardsRefused) {
    ASSERT_EQ(start("status_topic = \"x/${thing}/s\"\nresult_topic = \"x/r\""), "");
    ASSERT_TRUE(run_until_seen_on("x/AMR-001/s")) << h.log().joined();

    DoublesHarness bad;
    const std::string error = bad.dry_run(config("status_topic = \"amr/+/status\""));
    EXPECT_TRUE(has(error, "'status_topic' is 'amr/+/status': a topic to publish to cannot contain"))
        << error;
}

}  // namespace
}  // namespace iotgw::test
