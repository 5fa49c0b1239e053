// The `heartbeat` source in a real gateway: first beat at start, payload fields, and run-time
// control of period, retain and "now" (valid changes applied, bad ones refused with the old
// settings kept).
#include "doubles_gateway_test.hpp"

#include <gtest/gtest.h>

#include <string>

namespace iotgw::test {
namespace {

constexpr const char* kBeat = "amr/AMR-001/heartbeat";

// The `heartbeat` instance "hb" with `fields` (from line 6 on), its beats recorded, its control
// messages fed by "ctl".
std::string config(const std::string& fields) {
    return ConfigText()
        .source("hb", "heartbeat", fields)
        .source("ctl", "test_feed")
        .sink("out", "test_record")
        .pipeline("beats", "hb", {"out"})
        .pipeline("control", "ctl", {"hb"});
}

class HeartbeatPlugin : public DoublesGatewayTest {
protected:
    std::string start(const std::string& fields) { return h.start(config(fields)); }

    size_t beats() const { return doubles::seen_on(kBeat).size(); }
    bool wait_beats(size_t n) {
        return h.run_until([&] { return beats() >= n; }, std::chrono::seconds(10));
    }
    void control(const std::string& json) {
        ASSERT_TRUE(doubles::feed("ctl", "amr/AMR-001/heartbeat/control", json)) << h.log().joined();
    }
    double period_gauge() {
        for (const auto& m : h.gateway().metrics().snapshot())
            if (m.name == "hb.period_s") return m.value;
        return -1;
    }
};

TEST_F(HeartbeatPlugin, TheFirstBeatIsAtStartThenOnePerPeriodWithIncreasingSeq) {
    ASSERT_EQ(start("period = \"1s\""), "");
    ASSERT_TRUE(wait_beats(1)) << h.log().joined();
    const auto first = doubles::seen_on(kBeat).front();
    EXPECT_TRUE(has(first.payload, R"({"ts":)")) << first.payload;
    EXPECT_TRUE(has(first.payload, R"(,"seq":1,"uptime_ms":)")) << first.payload;
    EXPECT_TRUE(has(first.payload, R"(,"period_ms":1000})")) << first.payload;
    EXPECT_EQ(first.qos, 1);  // defaults: QoS 1, retained
    EXPECT_TRUE(first.retain);

    ASSERT_TRUE(wait_beats(2)) << h.log().joined();
    EXPECT_TRUE(has(doubles::seen_on(kBeat)[1].payload, R"("seq":2,)"));
    EXPECT_EQ(counter_value("hb.beats"), 2u);
    EXPECT_EQ(period_gauge(), 1.0);
}

TEST_F(HeartbeatPlugin, QosRetainAndTopicComeFromTheConfig) {
    ASSERT_EQ(start("topic = \"hb/${thing}\"\nqos = 0\nretain = false"), "");
    ASSERT_TRUE(run_until_seen_on("hb/AMR-001")) << h.log().joined();
    const auto b = doubles::seen_on("hb/AMR-001").front();
    EXPECT_EQ(b.qos, 0);
    EXPECT_FALSE(b.retain);
}

TEST_F(HeartbeatPlugin, AControlMessageChangesPeriodAndRetainFromTheNextBeat) {
    ASSERT_EQ(start("period = \"1h\""), "");
    ASSERT_TRUE(wait_beats(1)) << h.log().joined();
    EXPECT_EQ(period_gauge(), 3600.0);

    control(R"({"period":"1s","retain":false})");
    EXPECT_TRUE(h.log().contains(
        "heartbeat control from amr/AMR-001/heartbeat/control: period 1000 ms, retain false"))
        << h.log().joined();
    EXPECT_EQ(period_gauge(), 1.0);
    // Without the change the next beat would be an hour away.
    ASSERT_TRUE(wait_beats(2)) << h.log().joined();
    const auto second = doubles::seen_on(kBeat)[1];
    EXPECT_TRUE(has(second.payload, R"("seq":2,)")) << second.payload;
    EXPECT_TRUE(has(second.payload, R"("period_ms":1000})")) << second.payload;
    EXPECT_FALSE(second.retain);
    EXPECT_EQ(second.qos, 1);

    control(R"({"retain":true})");
    ASSERT_TRUE(wait_beats(3)) << h.log().joined();
    EXPECT_TRUE(doubles::seen_on(kBeat)[2].retain);
}

TEST_F(HeartbeatPlugin, NowSendsAHeartbeatAtOnceAndRestartsTheScheduleFromIt) {
    ASSERT_EQ(start("period = \"1h\""), "");
    ASSERT_TRUE(wait_beats(1)) << h.log().joined();

    // Alone: the next beat would be an hour away without it.
    control(R"({"now":true})");
    EXPECT_TRUE(
        h.log().contains("heartbeat control from amr/AMR-001/heartbeat/control: period 3600000 ms, "
                         "retain true (a heartbeat now)"))
        << h.log().joined();
    ASSERT_TRUE(wait_beats(2)) << h.log().joined();
    EXPECT_TRUE(has(doubles::seen_on(kBeat)[1].payload, R"("seq":2,)"));
    EXPECT_TRUE(has(doubles::seen_on(kBeat)[1].payload, R"("period_ms":3600000})"));
    // The schedule restarted from that beat: the next one is an hour after it, not at once.
    h.run_for(std::chrono::milliseconds(1200));
    EXPECT_EQ(beats(), 2u);

    // With a new period and retain flag: the beat sent at once already carries them.
    control(R"({"period":"1s","retain":false,"now":true})");
    ASSERT_TRUE(wait_beats(3)) << h.log().joined();
    const auto third = doubles::seen_on(kBeat)[2];
    EXPECT_TRUE(has(third.payload, R"("period_ms":1000})")) << third.payload;
    EXPECT_FALSE(third.retain);
    ASSERT_TRUE(wait_beats(4)) << h.log().joined();  // and then one per new period
    EXPECT_EQ(period_gauge(), 1.0);
}

TEST_F(HeartbeatPlugin, BadControlIsRefusedWithTheReasonAndTheOldSettingsStay) {
    ASSERT_EQ(start("period = \"1h\""), "");
    ASSERT_TRUE(wait_beats(1)) << h.log().joined();
    // At most 5 here: the runtime logs only the first few stage failures per window.
    const std::pair<const char*, const char*> cases[] = {
        {"slow down", "not JSON: Invalid value at offset 0"},
        {R"({"period":"1s","colour":"red"})", "unknown key \"colour\"; allowed are period, retain, now"},
        {R"({"period":"500ms"})", "\"period\" 500ms is out of range; allowed are 1s to 1h"},
        {R"({"period":"1s","retain":"no"})", "\"retain\" must be true or false"},
        {"{}", "nothing to change"},
    };
    for (const auto& [payload, reason] : cases) {
        control(payload);
        EXPECT_TRUE(h.log().contains(
            std::string("'hb' (sources.hb) failed (status 1): heartbeat control refused: ") + reason))
            << payload << "\n"
            << h.log().joined();
    }
    EXPECT_EQ(counter_value("pipeline.control.failed"), std::size(cases));
    EXPECT_FALSE(h.log().contains("heartbeat control from"));
    EXPECT_EQ(period_gauge(), 3600.0);
    // Partly valid messages change nothing either: their "1s" is not applied, no beat comes.
    h.run_for(std::chrono::milliseconds(1500));
    EXPECT_EQ(beats(), 1u);

    // And the source still takes a good one afterwards.
    control(R"({"period":"1s"})");
    ASSERT_TRUE(wait_beats(2)) << h.log().joined();
    EXPECT_TRUE(doubles::seen_on(kBeat)[1].retain);  // retain untouched by the refused messages
}

TEST_F(HeartbeatPlugin, EveryMalformedControlFormHasItsOwnReason) {
    const std::pair<const char*, const char*> cases[] = {
        {"[]", "not a JSON object"},
        {R"({"period":"2h"})", "\"period\" 2h is out of range"},
        // Days parse as in the config file (<iotgw/sdk/duration.hpp>): too long, not malformed.
        {R"({"period":"1d"})", "\"period\" 1d is out of range"},
        {R"({"period":"10"})", "\"period\" is \"10\", expected a duration such as \"30s\""},
        {R"({"period":"30s10m"})", "\"period\" is \"30s10m\", expected a duration"},
        {R"({"period":30})", "\"period\" must be a duration string"},
        {R"({"retain":1})", "\"retain\" must be true or false"},
        {R"({"period":"10s","now":"yes"})", "\"now\" must be true or false"},
        // "now":false asks for nothing.
        {R"({"now":false})", "nothing to change"},
        {"{\"period\":\"1s\"", "not JSON: Missing a comma or '}' after an object member at offset 14"},
    };
    for (const auto& [payload, reason] : cases) {
        DoublesHarness one;
        ASSERT_EQ(one.start(config("")), "");
        ASSERT_TRUE(doubles::feed("ctl", "ctl", payload));
        EXPECT_TRUE(one.log().contains(std::string("heartbeat control refused: ") + reason))
            << payload << "\n"
            << one.log().joined();
    }
}

TEST_F(HeartbeatPlugin, APeriodOutsideOneSecondToOneHourIsAConfigError) {
    const std::string errors = h.load(config("period = \"100ms\""));
    EXPECT_TRUE(has(errors, "test.toml:6:")) << errors;
}

}  // namespace
}  // namespace iotgw::test
