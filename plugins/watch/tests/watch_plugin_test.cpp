// The `watch` processor in a real gateway, in front of a real `heartbeat` instance: the slow mode
// from the very first heartbeat, the fast mode with a heartbeat at once when a console watches,
// the slow mode again when its lease ends, refusals counted and logged, and the config checks.
#include "doubles_gateway_test.hpp"

#include <gtest/gtest.h>

#include <string>

namespace iotgw::test {
namespace {

constexpr const char* kBeat = "amr/AMR-001/heartbeat";
constexpr const char* kWatch = "amr/AMR-001/watch";

// Watch messages fed by "feed" through "watch" to the heartbeat "hb", whose beats are recorded.
// The heartbeat's own config says 10 s retained: the watch instance overrides it from the start.
std::string config(const std::string& watch_fields) {
    return ConfigText()
        .source("feed", "test_feed")
        .processor("watch", "watch", watch_fields)
        .source("hb", "heartbeat", "period = \"10s\"\nretain = true")
        .sink("out", "test_record")
        .pipeline("watches", "feed", {"hb"}, {"watch"})
        .pipeline("beats", "hb", {"out"});
}

class WatchPlugin : public DoublesGatewayTest {
protected:
    std::string start(const std::string& fields = "fast_period = \"1s\"\nslow_period = \"1h\"") {
        return h.start(config(fields));
    }
    std::vector<doubles::Seen> beats() const { return doubles::seen_on(kBeat); }
    bool wait_beats(size_t n) {
        return h.run_until([&] { return beats().size() >= n; }, std::chrono::seconds(10));
    }
    // As the connection delivers a console's watch live: not retained (that flag marks the
    // broker's stored copy, sent on subscribe, which must carry an expiry).
    void watch(const std::string& json) {
        ASSERT_TRUE(doubles::feed("feed", kWatch, json, 1, false)) << h.log().joined();
    }
    double gauge(const std::string& name) {
        for (const auto& m : h.gateway().metrics().snapshot())
            if (m.name == name) return m.value;
        return -1;
    }
};

TEST_F(WatchPlugin, SlowFromTheFirstBeatFastAtOnceWhenWatchedSlowAgainWhenTheLeaseEnds) {
    // A fast period of 30 s: without the control's "now" the next beat would be 30 s after the
    // first, far beyond the waits below.
    // Leases of 1 and 2 s (min_lease 1 s) keep the waits short.
    ASSERT_EQ(start("fast_period = \"30s\"\nslow_period = \"1h\"\nmin_lease = \"1s\""), "");
    ASSERT_TRUE(wait_beats(1)) << h.log().joined();
    EXPECT_TRUE(h.log().contains("no console watching: heartbeat every 1h, retained")) << h.log().joined();
    // The slow control reached the heartbeat before its first beat.
    EXPECT_TRUE(has(beats()[0].payload, R"("period_ms":3600000})")) << beats()[0].payload;
    // Retained, so the broker always holds a heartbeat announcing the current period.
    EXPECT_TRUE(beats()[0].retain);
    EXPECT_EQ(gauge("watch.watched"), 0.0);
    EXPECT_EQ(gauge("watch.consoles"), 0.0);

    watch(R"({"thing":"AMR-001","console":"c1","lease_s":2})");
    EXPECT_TRUE(h.log().contains("watched by 1 console: heartbeat every 30s, retained")) << h.log().joined();
    // A heartbeat at once, fast and retained.
    ASSERT_TRUE(wait_beats(2)) << h.log().joined();
    EXPECT_TRUE(has(beats()[1].payload, R"("period_ms":30000})")) << beats()[1].payload;
    EXPECT_TRUE(beats()[1].retain);
    EXPECT_EQ(gauge("watch.watched"), 1.0);
    EXPECT_EQ(gauge("watch.consoles"), 1.0);
    EXPECT_EQ(counter_value("watch.leases"), 1u);

    // A second console: no second control, still fast.
    watch(R"({"thing":"AMR-001","console":"c2","lease_s":1})");
    EXPECT_EQ(gauge("watch.consoles"), 2.0);
    EXPECT_EQ(h.lines_with("watched by 1 console").size(), 1u);

    // Nobody refreshes: c2's lease ends first (still watched), then c1's (slow again).
    ASSERT_TRUE(h.run_until([&] { return gauge("watch.consoles") == 1.0; }, std::chrono::seconds(5)));
    EXPECT_EQ(gauge("watch.watched"), 1.0);
    // The start's line and now this one.
    ASSERT_TRUE(h.run_until(
        [&] { return h.lines_with("no console watching: heartbeat every 1h, retained").size() == 2; },
        std::chrono::seconds(5)))
        << h.log().joined();
    EXPECT_EQ(gauge("watch.watched"), 0.0);
    EXPECT_EQ(gauge("watch.consoles"), 0.0);
    EXPECT_EQ(gauge("hb.period_s"), 3600.0);
    EXPECT_EQ(counter_value("watch.refused"), 0u);
}

TEST_F(WatchPlugin, BadWatchMessagesAreRefusedCountedAndLoggedAndChangeNothing) {
    ASSERT_EQ(start(), "");
    ASSERT_TRUE(wait_beats(1)) << h.log().joined();
    // At most 5 here: the runtime logs only the first few stage failures per window.
    const std::pair<const char*, const char*> cases[] = {
        {"watch me", "not JSON: Invalid value at offset 0"},
        {"[]", "not a JSON object"},
        {R"({"console":"c1","lease_s":2})", R"("thing" is missing)"},
        {R"({"thing":"AMR-002","console":"c1","lease_s":2})",
         R"(foreign thing: "thing" is "AMR-002", this gateway is "AMR-001")"},
        {R"({"thing":"AMR-001","console":"c1","lease_s":0})",
         R"("lease_s" must be an integer number of seconds)"},
    };
    for (const auto& [payload, reason] : cases) {
        watch(payload);
        EXPECT_TRUE(h.log().contains(
            std::string("'watch' (processors.watch) failed (status 1): watch refused: ") + reason))
            << payload << "\n"
            << h.log().joined();
    }
    // An empty payload (the retained watch deleted) is neither a watch nor a refusal.
    watch("");
    EXPECT_EQ(counter_value("watch.refused"), std::size(cases));
    EXPECT_EQ(counter_value("pipeline.watches.failed"), std::size(cases));
    EXPECT_EQ(counter_value("watch.leases"), 0u);
    EXPECT_EQ(gauge("watch.watched"), 0.0);
    EXPECT_FALSE(h.log().contains("watched by"));
    h.run_for(std::chrono::milliseconds(300));
    EXPECT_EQ(beats().size(), 1u);  // no heartbeat at once either
}

TEST_F(WatchPlugin, ConsolesBeyondMaxConsolesAreRefusedAndCounted) {
    ASSERT_EQ(start("fast_period = \"1s\"\nslow_period = \"1h\"\nmax_consoles = 1"), "");
    watch(R"({"thing":"AMR-001","console":"c1","lease_s":60})");
    watch(R"({"thing":"AMR-001","console":"c2","lease_s":60})");
    EXPECT_TRUE(h.log().contains("watch refused: 1 consoles are watching already")) << h.log().joined();
    EXPECT_EQ(counter_value("watch.refused"), 1u);
    EXPECT_EQ(gauge("watch.consoles"), 1.0);
}

TEST_F(WatchPlugin, TheConfigIsCheckedBeforeAnythingStarts) {
    // Line 8 is the first field of [processors.watch] (ConfigText: [gateway], then the feed).
    std::string errors = h.load(config("fast_period = \"500ms\""));
    EXPECT_TRUE(has(errors, "test.toml:8:")) << errors;
    errors = h.load(config("slow_period = \"2h\""));
    EXPECT_TRUE(has(errors, "test.toml:8:")) << errors;
    errors = h.load(config("max_consoles = 0"));
    EXPECT_TRUE(has(errors, "test.toml:8:")) << errors;
    errors = h.dry_run(config("fast_period = \"1m\"\nslow_period = \"30s\""));
    EXPECT_TRUE(has(errors, "'slow_period' (30s) is shorter than 'fast_period' (1m)")) << errors;
    errors = h.load(config("min_lease = \"500ms\""));
    EXPECT_TRUE(has(errors, "test.toml:8:")) << errors;
    // Two fields in conflict: the error names the instance's table, line 6.
    errors = h.dry_run(config("min_lease = \"2m\"\nmax_lease = \"1m\""));
    EXPECT_TRUE(has(errors, "[processors.watch] at test.toml:6:")) << errors;
    EXPECT_TRUE(has(errors, "'min_lease' (2m) is longer than 'max_lease' (1m)")) << errors;
    EXPECT_EQ(h.dry_run(config("min_lease = \"1m\"\nmax_lease = \"1m\"")), "");
}

}  // namespace
}  // namespace iotgw::test
