// The lease logic with injected time: when the heartbeat goes fast (with a heartbeat at once) and
// back to slow, several consoles, refreshes, the max_lease clamp and the max_consoles bound; and
// every malformed or foreign watch message refused with its reason, changing nothing.
#include "watch_leases.hpp"
#include "watch_message.hpp"

#include <iotgw/sdk/errors.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>

namespace iotgw::plugins::watch {
namespace {

constexpr int64_t kS = 1'000'000'000;  // one second in ns
constexpr const char* kFast = R"({"period":"10s","retain":true,"now":true})";
constexpr const char* kSlow = R"({"period":"5m","retain":false})";
// At a lease's end the slow heartbeat goes out at once too: until it does, every console holds
// a heartbeat announcing the fast period and would call the AMR late 25 s after it.
constexpr const char* kSlowNow = R"({"period":"5m","retain":false,"now":true})";

LeaseOptions defaults() {
    LeaseOptions o;
    o.fast = {10'000, true};
    o.slow = {300'000, false};
    o.min_lease_ms = 10'000;
    o.max_lease_ms = 300'000;
    o.max_consoles = 64;
    return o;
}

WatchRequest req(const std::string& console, uint64_t lease_s) { return WatchRequest{console, lease_s}; }

WatchRequest parse(const std::string& payload) {
    auto r = parse_watch(payload, "AMR-001");
    if (!r) throw std::runtime_error("parse_watch returned nothing for: " + payload);
    return *r;
}

TEST(WatchLeases, TheStartIsTheSlowModeWithoutAHeartbeatAtOnce) {
    const WatchLeases l(defaults());
    EXPECT_FALSE(l.start().watched);
    EXPECT_EQ(l.start().control, kSlow);
    EXPECT_FALSE(l.watched());
    EXPECT_EQ(l.next_end_ns(), std::nullopt);
}

TEST(WatchLeases, TheStartWhileWatchedIsTheFastModeWithoutAHeartbeatAtOnce) {
    WatchLeases l(defaults());
    ASSERT_TRUE(l.watch(req("c1", 90), 0));
    const ModeChange s = l.start();
    EXPECT_TRUE(s.watched);
    EXPECT_EQ(s.control, R"({"period":"10s","retain":true})");
}

TEST(WatchLeases, AWatchTurnsFastWithAHeartbeatNowAndItsLeaseEndTurnsSlow) {
    WatchLeases l(defaults());
    const auto fast = l.watch(parse(R"({"thing":"AMR-001","console":"c1","lease_s":90})"), 100 * kS);
    ASSERT_TRUE(fast);
    EXPECT_TRUE(fast->watched);
    EXPECT_EQ(fast->control, kFast);
    EXPECT_TRUE(l.watched());
    EXPECT_EQ(l.consoles(), 1u);
    EXPECT_EQ(l.next_end_ns(), 190 * kS);

    EXPECT_EQ(l.expire(190 * kS - 1), std::nullopt);  // one ns before the end: still watched
    EXPECT_TRUE(l.watched());
    const auto slow = l.expire(190 * kS);
    ASSERT_TRUE(slow);
    EXPECT_FALSE(slow->watched);
    EXPECT_EQ(slow->control, kSlowNow);
    EXPECT_FALSE(l.watched());
    EXPECT_EQ(l.next_end_ns(), std::nullopt);
    EXPECT_EQ(l.expire(500 * kS), std::nullopt);  // nothing left to end: no second slow control
}

TEST(WatchLeases, ARefreshExtendsTheLeaseWithoutAnotherFastControl) {
    WatchLeases l(defaults());
    ASSERT_TRUE(l.watch(req("c1", 90), 0));
    EXPECT_EQ(l.watch(req("c1", 90), 30 * kS), std::nullopt);  // already fast: nothing to send
    EXPECT_EQ(l.consoles(), 1u);
    EXPECT_EQ(l.next_end_ns(), 120 * kS);
    EXPECT_EQ(l.expire(90 * kS), std::nullopt);  // the first lease's end has been replaced
    EXPECT_TRUE(l.watched());
    EXPECT_TRUE(l.expire(120 * kS));
}

// Console ids are not secret (every console may read the retained watch), so a message under
// another console's id must not cut that console's lease short: a refresh only ever extends.
TEST(WatchLeases, AShorterRefreshNeverCutsALeaseShort) {
    WatchLeases l(defaults());
    ASSERT_TRUE(l.watch(req("c1", 300), 0));
    EXPECT_EQ(l.watch(req("c1", 1), 5 * kS), std::nullopt);
    EXPECT_EQ(l.next_end_ns(), 300 * kS) << "the 300 s lease still ends at 300 s, not at 5 + 10 s";
    EXPECT_EQ(l.expire(15 * kS), std::nullopt);
    EXPECT_TRUE(l.watched());
    // A longer one extends it.
    EXPECT_EQ(l.watch(req("c1", 300), 100 * kS), std::nullopt);
    EXPECT_EQ(l.next_end_ns(), 400 * kS);
}

TEST(WatchLeases, TwoConsolesKeepItFastUntilTheLastLeaseEnds) {
    WatchLeases l(defaults());
    ASSERT_TRUE(l.watch(req("c1", 90), 0));
    EXPECT_EQ(l.watch(req("c2", 90), 10 * kS), std::nullopt);
    EXPECT_EQ(l.consoles(), 2u);
    // c1 stops refreshing, c2 goes on.
    EXPECT_EQ(l.watch(req("c2", 90), 40 * kS), std::nullopt);
    EXPECT_EQ(l.expire(90 * kS), std::nullopt);  // c1's lease ends: still watched by c2
    EXPECT_EQ(l.consoles(), 1u);
    EXPECT_TRUE(l.watched());
    EXPECT_EQ(l.next_end_ns(), 130 * kS);
    const auto slow = l.expire(130 * kS);
    ASSERT_TRUE(slow);
    EXPECT_EQ(slow->control, kSlowNow);
}

TEST(WatchLeases, AWatchAfterTheLastLeaseEndedStartsTheFastModeAgain) {
    WatchLeases l(defaults());
    ASSERT_TRUE(l.watch(req("c1", 10), 0));
    // The timer was late: the lease is over when the next watch arrives. The new watch counts as
    // a new beginning (a heartbeat at once), not as a refresh.
    const auto again = l.watch(req("c1", 10), 11 * kS);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->control, kFast);
}

TEST(WatchLeases, ALeaseShorterThanMinLeaseIsRaised) {
    WatchLeases l(defaults());
    ASSERT_TRUE(l.watch(req("c1", 1), 0));
    EXPECT_EQ(l.next_end_ns(), 10 * kS);
    EXPECT_EQ(l.watch(req("c1", 11), 5 * kS), std::nullopt);  // above the floor: as asked
    EXPECT_EQ(l.next_end_ns(), 16 * kS);
    // min_lease = max_lease: every lease is exactly that long.
    LeaseOptions o = defaults();
    o.min_lease_ms = 60'000;
    o.max_lease_ms = 60'000;
    WatchLeases fixed(o);
    ASSERT_TRUE(fixed.watch(req("c1", 1), 0));
    EXPECT_EQ(fixed.next_end_ns(), 60 * kS);
    EXPECT_EQ(fixed.watch(req("c1", 3600), 0), std::nullopt);
    EXPECT_EQ(fixed.next_end_ns(), 60 * kS);
}

TEST(WatchLeases, ALeaseLongerThanMaxLeaseIsClamped) {
    WatchLeases l(defaults());
    ASSERT_TRUE(l.watch(req("c1", 3600), 0));
    EXPECT_EQ(l.next_end_ns(), 300 * kS);
    // So large it would overflow in nanoseconds.
    EXPECT_EQ(l.watch(req("c1", UINT64_MAX), 0), std::nullopt);
    EXPECT_EQ(l.next_end_ns(), 300 * kS);
    // Not a whole number of seconds: the cut is still exact.
    LeaseOptions o = defaults();
    o.min_lease_ms = 1'000;
    o.max_lease_ms = 1'500;
    WatchLeases odd(o);
    ASSERT_TRUE(odd.watch(req("c1", 2), 0));
    EXPECT_EQ(odd.next_end_ns(), 1'500'000'000);
    ASSERT_TRUE(odd.expire(2 * kS));
    ASSERT_TRUE(odd.watch(req("c1", 1), 10 * kS));  // below the bound: as asked
    EXPECT_EQ(odd.next_end_ns(), 11 * kS);
}

// Every lease end sends the slow control with a heartbeat at once, every new watch the fast one:
// a console asking for 1 s leases once a second would force two heartbeats (four metered
// messages) a second, forever. min_lease bounds the mode changes to two per min_lease.
TEST(WatchLeases, ShortLeasesAreRaisedToMinLeaseSoTheModeChangesAtMostTwicePerMinLease) {
    WatchLeases l(defaults());
    constexpr int64_t kEvery = 1'001'000'000;  // a console refreshing 1 s leases every 1.001 s
    constexpr int64_t kFor = 60 * kS;
    int changes = 0;
    for (int64_t now = 0; now < kFor; now += kEvery) {
        if (l.watch(req("c1", 1), now)) ++changes;
        // The timer: at each lease end before the next refresh.
        for (auto end = l.next_end_ns(); end && *end < now + kEvery; end = l.next_end_ns())
            if (l.expire(*end)) ++changes;
    }
    while (const auto end = l.next_end_ns())
        if (l.expire(*end)) ++changes;
    EXPECT_LE(changes, 60 / 10 * 2 + 2);
    EXPECT_FALSE(l.watched());
}

TEST(WatchLeases, ConsolesBeyondMaxConsolesAreRefusedAndChangeNothing) {
    LeaseOptions o = defaults();
    o.max_consoles = 2;
    WatchLeases l(o);
    ASSERT_TRUE(l.watch(req("c1", 90), 0));
    EXPECT_EQ(l.watch(req("c2", 90), 0), std::nullopt);
    try {
        l.watch(req("c3", 900), kS);
        FAIL() << "a third console was accepted";
    } catch (const sdk::Error& e) {
        EXPECT_EQ(
            std::string(e.what()),
            "watch refused: 2 consoles are watching already, the most this gateway keeps (max_consoles); "
            "console \"c3\" is not counted");
    }
    EXPECT_EQ(l.consoles(), 2u);
    EXPECT_EQ(l.next_end_ns(), 90 * kS);
    // The consoles already counted still refresh.
    EXPECT_EQ(l.watch(req("c1", 90), 2 * kS), std::nullopt);
    // A flood of new ids never grows the table.
    for (int i = 0; i < 1000; ++i)
        EXPECT_THROW(l.watch(req("flood-" + std::to_string(i), 90), 3 * kS), sdk::Error);
    EXPECT_EQ(l.consoles(), 2u);
    // Once a lease has ended, its place is free again.
    EXPECT_EQ(l.watch(req("c3", 90), 90 * kS), std::nullopt);  // c2 ended at 90 s, c1 runs to 92 s
    EXPECT_EQ(l.consoles(), 2u);
}

TEST(WatchMessage, AValidWatchIsReadAndUnknownKeysAreIgnored) {
    const auto w = parse_watch(R"({"thing":"AMR-001","console":"web:4f2a_b.c-9","lease_s":90,"view":"card"})",
                               "AMR-001");
    ASSERT_TRUE(w);
    EXPECT_EQ(w->console, "web:4f2a_b.c-9");
    EXPECT_EQ(w->lease_s, 90u);
    EXPECT_TRUE(parse_watch(R"({"lease_s":1,"console":")" + std::string(128, 'x') + R"(","thing":"AMR-001"})",
                            "AMR-001"));
}

TEST(WatchMessage, AnEmptyPayloadAsksForNothing) {
    // What a subscriber receives when the retained watch is deleted.
    EXPECT_EQ(parse_watch("", "AMR-001"), std::nullopt);
}

TEST(WatchMessage, EveryMalformedOrForeignFormIsRefusedWithItsReasonAndChangesNothing) {
    const std::pair<std::string, std::string> cases[] = {
        {"watch me", "not JSON: Invalid value at offset 0"},
        {R"({"thing":"AMR-001")", "not JSON: Missing a comma or '}' after an object member at offset 18"},
        {"[1,2]", "not a JSON object"},
        {R"("AMR-001")", "not a JSON object"},
        {R"({"console":"c1","lease_s":90})", R"("thing" is missing)"},
        {R"({"thing":7,"console":"c1","lease_s":90})", R"("thing" must be a string)"},
        {R"({"thing":"AMR-002","console":"c1","lease_s":90})",
         R"(foreign thing: "thing" is "AMR-002", this gateway is "AMR-001")"},
        {R"({"thing":"amr-001","console":"c1","lease_s":90})", R"(foreign thing: "thing" is "amr-001")"},
        {R"({"thing":"AMR-001","lease_s":90})", R"("console" is missing)"},
        {R"({"thing":"AMR-001","console":42,"lease_s":90})", R"("console" must be a string)"},
        {R"({"thing":"AMR-001","console":"","lease_s":90})",
         R"("console" has 0 characters, allowed are 1 to 128)"},
        {R"({"thing":"AMR-001","console":")" + std::string(129, 'x') + R"(","lease_s":90})",
         R"("console" has 129 characters, allowed are 1 to 128)"},
        {R"({"thing":"AMR-001","console":"c 1","lease_s":90})",
         R"("console" may contain only A-Z, a-z, 0-9)"},
        {R"({"thing":"AMR-001","console":"c/1","lease_s":90})", R"("console" may contain only)"},
        {R"({"thing":"AMR-001","console":"c1"})", R"("lease_s" is missing)"},
        {R"({"thing":"AMR-001","console":"c1","lease_s":0})",
         R"("lease_s" must be an integer number of seconds, at least 1)"},
        {R"({"thing":"AMR-001","console":"c1","lease_s":-5})", R"("lease_s" must be an integer)"},
        {R"({"thing":"AMR-001","console":"c1","lease_s":90.5})", R"("lease_s" must be an integer)"},
        {R"({"thing":"AMR-001","console":"c1","lease_s":9e1})", R"("lease_s" must be an integer)"},
        {R"({"thing":"AMR-001","console":"c1","lease_s":"90"})", R"("lease_s" must be an integer)"},
        {R"({"thing":"AMR-001","console":"c1","lease_s":90,"pad":")" + std::string(5000, 'x') + "\"}",
         "5056 bytes, at most 4096"},
    };
    for (const auto& [payload, reason] : cases) {
        WatchLeases l(defaults());
        try {
            if (const auto w = parse_watch(payload, "AMR-001")) l.watch(*w, 0);
            ADD_FAILURE() << "accepted: " << payload;
        } catch (const sdk::Error& e) {
            const std::string what = e.what();
            EXPECT_EQ(what.rfind("watch refused: " + reason, 0), 0u) << what;
            EXPECT_NE(
                what.find(
                    R"(; expected {"thing":"<this AMR>","console":"<console id>","lease_s":<seconds>})"),
                std::string::npos)
                << what;
        }
        EXPECT_FALSE(l.watched()) << payload;
        EXPECT_EQ(l.consoles(), 0u) << payload;
    }
}

TEST(WatchMessage, AWatchNeverOutlivesItsMessageExpiry) {
    struct Case {
        const char* what;
        uint64_t lease_s;
        bool retained;
        std::optional<uint32_t> expiry_s;
        uint64_t expected;
    };
    const Case cases[] = {
        {"the console's own form: the expiry equals lease_s", 90, true, 90, 90},
        {"a retained watch delivered 60 s after it was published", 90, true, 30, 30},
        {"a message expiring sooner than its lease, live too", 3600, false, 5, 5},
        {"an expiry longer than the lease leaves the lease alone", 90, false, 600, 90},
        {"0 s left: the shortest lease there is (min_lease raises it)", 90, true, 0, 1},
        {"live without an expiry (an MQTT 3.1.1 link carries none)", 90, false, std::nullopt, 90},
    };
    for (const Case& c : cases) {
        WatchRequest w = req("c1", c.lease_s);
        limit_to_expiry(w, c.retained, c.expiry_s);
        EXPECT_EQ(w.lease_s, c.expected) << c.what;
    }
}

TEST(WatchMessage, ARetainedWatchWithoutAnExpiryIsRefusedWithTheReason) {
    WatchRequest w = req("web:7", 90);
    try {
        limit_to_expiry(w, true, std::nullopt);
        ADD_FAILURE() << "a retained watch without an expiry was accepted";
    } catch (const sdk::Error& e) {
        EXPECT_STREQ(e.what(),
                     "watch refused: console \"web:7\" left a retained watch without a message expiry, which "
                     "would make this AMR fast after every reconnect; a console sets the MQTT 5 Message "
                     "Expiry Interval to lease_s (an MQTT 3.1.1 connection receives no expiry: use "
                     "mqtt_version = \"5\")");
    }
    EXPECT_EQ(w.lease_s, 90u);
}

}  // namespace
}  // namespace iotgw::plugins::watch
