// The AMR call-command rules (sdk/include/iotgw/amr/call_rules.hpp): every malformed form gets a
// precise reason, and the stateful rules (stale, future, duplicate, busy) use the injected clock.
#include <iotgw/amr/call_rules.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace iotgw::amr {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

std::string cmd(const std::string& id, int64_t ts) {
    return R"({"id":")" + id + R"(","ts":)" + std::to_string(ts) + "}";
}

struct Rules {
    int64_t now = kNow;
    CallRules rules{CallRulesOptions{}, [this] { return now; }};
};

ParsedCommand parse(std::string_view payload) { return parse_call_command(payload); }

TEST(AmrCallRules, AWellFormedCommandIsParsedWithItsOptionalTarget) {
    auto p = parse(R"({"id":"call-1:a.b_c","ts":1700000000000,"target":"dock 3","extra":{"x":[1,2]}})");
    ASSERT_TRUE(p.command) << p.detail;
    EXPECT_EQ(p.command->id, "call-1:a.b_c");
    EXPECT_EQ(p.command->ts_ms, kNow);
    EXPECT_EQ(p.command->target, "dock 3");
    EXPECT_TRUE(p.reason.empty());

    auto q = parse(cmd("x", kNow));
    ASSERT_TRUE(q.command);
    EXPECT_FALSE(q.command->target);
}

TEST(AmrCallRules, NotJsonNamesRapidJsonsErrorAndOffset) {
    auto p = parse(R"({"id":"a","ts":1)");
    EXPECT_EQ(p.reason, reason::not_json);
    EXPECT_NE(p.detail.find("not JSON: "), std::string::npos) << p.detail;
    EXPECT_NE(p.detail.find("(at byte 16)"), std::string::npos) << p.detail;
    EXPECT_FALSE(p.command);

    EXPECT_EQ(parse("call").reason, reason::not_json);
    EXPECT_EQ(parse(R"({"id":"a","ts":1} x)").reason, reason::not_json);
    EXPECT_EQ(parse("").reason, reason::not_json);
    EXPECT_NE(parse("").detail.find("empty"), std::string::npos);
    // Invalid UTF-8 inside a string.
    EXPECT_EQ(parse("{\"id\":\"a\xff\",\"ts\":1}").reason, reason::not_json);
    // A multi-byte sequence cut off by the end of the payload (RapidJSON reads ahead for it).
    EXPECT_EQ(parse("{\"id\":\"a\xf0").reason, reason::not_json);
}

TEST(AmrCallRules, JsonThatIsNotAnObjectIsRefusedWithItsType) {
    auto p = parse(R"(["id","ts"])");
    EXPECT_EQ(p.reason, reason::not_object);
    EXPECT_NE(p.detail.find("an array, not a JSON object"), std::string::npos) << p.detail;
    EXPECT_EQ(parse("42").reason, reason::not_object);
    EXPECT_EQ(parse("\"call\"").reason, reason::not_object);
    EXPECT_EQ(parse("null").reason, reason::not_object);
}

TEST(AmrCallRules, MissingOrMistypedKeysAreNamedWithTheExpectedType) {
    auto no_id = parse(R"({"ts":1700000000000})");
    EXPECT_EQ(no_id.reason, reason::bad_id);
    EXPECT_NE(no_id.detail.find("missing key 'id' (string)"), std::string::npos) << no_id.detail;
    EXPECT_FALSE(no_id.id);

    auto num_id = parse(R"({"id":7,"ts":1700000000000})");
    EXPECT_EQ(num_id.reason, reason::bad_id);
    EXPECT_NE(num_id.detail.find("key 'id' must be a string, got an integer"), std::string::npos)
        << num_id.detail;

    auto no_ts = parse(R"({"id":"c1"})");
    EXPECT_EQ(no_ts.reason, reason::bad_ts);
    EXPECT_NE(no_ts.detail.find("missing key 'ts' (integer, epoch milliseconds)"), std::string::npos);
    EXPECT_EQ(no_ts.id, "c1");  // a valid id is echoed so the caller can correlate

    auto str_ts = parse(R"({"id":"c1","ts":"1700000000000"})");
    EXPECT_EQ(str_ts.reason, reason::bad_ts);
    EXPECT_NE(str_ts.detail.find("must be an integer (epoch milliseconds), got a string"), std::string::npos)
        << str_ts.detail;
    EXPECT_EQ(parse(R"({"id":"c1","ts":1.7e12})").reason, reason::bad_ts);
    EXPECT_EQ(parse(R"({"id":"c1","ts":18446744073709551615})").reason, reason::bad_ts);
    EXPECT_EQ(parse(R"({"id":"c1","ts":{"ms":1}})").reason, reason::bad_ts);

    auto bad_target = parse(R"({"id":"c1","ts":1,"target":[1]})");
    EXPECT_EQ(bad_target.reason, reason::bad_target);
    EXPECT_NE(bad_target.detail.find("key 'target' must be a string, got an array"), std::string::npos);
    EXPECT_EQ(parse(R"({"id":"c1","ts":1,"target":""})").reason, reason::bad_target);
    EXPECT_EQ(parse(R"({"id":"c1","ts":1,"target":")" + std::string(65, 'x') + "\"}").reason,
              reason::bad_target);
    EXPECT_EQ(parse(R"({"id":"c1","ts":1,"target":"a\nb"})").reason, reason::bad_target);
}

TEST(AmrCallRules, AKeyGivenTwiceIsAmbiguousAndRefused) {
    auto p = parse(R"({"id":"a","ts":1,"id":"b"})");
    EXPECT_EQ(p.reason, reason::bad_id);
    EXPECT_NE(p.detail.find("key 'id' appears more than once"), std::string::npos) << p.detail;
    EXPECT_EQ(parse(R"({"id":"a","ts":1,"ts":2})").reason, reason::bad_ts);
    // Nested keys of the same name are someone else's business.
    EXPECT_TRUE(parse(R"({"id":"a","ts":1,"meta":{"id":"x","ts":"y"}})").command);
}

TEST(AmrCallRules, IdsAreOneTo64CharactersOfTheAllowedSet) {
    EXPECT_TRUE(parse(cmd(std::string(64, 'a'), 1)).command);
    auto long_id = parse(cmd(std::string(65, 'a'), 1));
    EXPECT_EQ(long_id.reason, reason::bad_id);
    EXPECT_NE(long_id.detail.find("65 characters long; it must have 1 to 64"), std::string::npos)
        << long_id.detail;
    EXPECT_EQ(parse(cmd("", 1)).reason, reason::bad_id);

    auto space = parse(cmd("a b", 1));
    EXPECT_EQ(space.reason, reason::bad_id);
    EXPECT_NE(space.detail.find("has ' ' at position 1"), std::string::npos) << space.detail;
    auto slash = parse(cmd("a/#", 1));
    EXPECT_NE(slash.detail.find("has '/' at position 1"), std::string::npos) << slash.detail;
    auto ctl = parse(R"({"id":"a\u0001","ts":1})");
    EXPECT_NE(ctl.detail.find("byte 0x01 at position 1"), std::string::npos) << ctl.detail;
    EXPECT_FALSE(ctl.id);
}

TEST(AmrCallRules, OversizedPayloadsAreRefusedBeforeParsing) {
    const std::string big = R"({"id":"a","ts":1,"pad":")" + std::string(5000, 'x') + "\"}";
    auto p = parse(big);
    EXPECT_EQ(p.reason, reason::oversized);
    EXPECT_NE(p.detail.find("at most 4096"), std::string::npos) << p.detail;
    EXPECT_TRUE(parse_call_command(big, 10000).command);
}

TEST(AmrCallRules, NestingIsBoundedSoParsingCannotExhaustTheStack) {
    auto nested = [](int levels) {
        return R"({"id":"a","ts":1,"x":)" + std::string(levels, '[') + std::string(levels, ']') + "}";
    };
    EXPECT_TRUE(parse(nested(31)).command);  // plus the command object itself: 32 levels
    const std::string deep = nested(100000);
    auto p = parse_call_command(deep, deep.size());
    EXPECT_EQ(p.reason, reason::not_json);
    EXPECT_NE(p.detail.find("nested deeper than 32 levels"), std::string::npos) << p.detail;
}

TEST(AmrCallRules, AnEmbeddedNulIsNotJson) {
    auto p = parse(std::string("{\"id\":\"a\",\"ts\":1}\0{}", 20));
    EXPECT_EQ(p.reason, reason::not_json);
    EXPECT_NE(p.detail.find("a NUL byte (at byte 17)"), std::string::npos) << p.detail;
}

TEST(AmrCallRules, AFreshCommandIsAcceptedAndCarriesTheCommand) {
    Rules r;
    auto d = r.rules.decide(R"({"id":"c1","ts":1700000000000,"target":"dock"})", false);
    EXPECT_EQ(d.result, Result::accepted);
    EXPECT_TRUE(d.reason.empty());
    ASSERT_TRUE(d.command);
    EXPECT_EQ(d.command->target, "dock");
    EXPECT_EQ(d.id, "c1");
}

TEST(AmrCallRules, StaleAndFutureUseTheInjectedClock) {
    Rules r;
    // Exactly at the ttl is still fresh; one millisecond more is stale.
    EXPECT_EQ(r.rules.decide(cmd("edge", kNow - 30'000), false).result, Result::accepted);
    auto stale = r.rules.decide(cmd("old", kNow - 30'001), false);
    EXPECT_EQ(stale.result, Result::refused);
    EXPECT_EQ(stale.reason, reason::stale);
    EXPECT_NE(stale.detail.find("30001 ms old"), std::string::npos) << stale.detail;

    EXPECT_EQ(r.rules.decide(cmd("skew", kNow + 5'000), false).result, Result::accepted);
    auto future = r.rules.decide(cmd("ahead", kNow + 5'001), false);
    EXPECT_EQ(future.reason, reason::future);
    EXPECT_NE(future.detail.find("5001 ms ahead"), std::string::npos) << future.detail;

    // The clock moves: the same kind of command becomes stale later.
    r.now += 60'000;
    EXPECT_EQ(r.rules.decide(cmd("late", kNow), false).reason, reason::stale);
}

TEST(AmrCallRules, ExtremeTimestampsDoNotOverflow) {
    Rules r;
    EXPECT_EQ(r.rules.decide(cmd("min", std::numeric_limits<int64_t>::min()), false).reason, reason::stale);
    EXPECT_EQ(r.rules.decide(cmd("max", std::numeric_limits<int64_t>::max()), false).reason, reason::future);
    r.now = std::numeric_limits<int64_t>::min();
    EXPECT_EQ(r.rules.decide(cmd("neg", std::numeric_limits<int64_t>::max()), false).reason, reason::future);
}

TEST(AmrCallRules, ARedeliveredCommandIsADuplicateWithTheOriginalOutcome) {
    Rules r;
    EXPECT_EQ(r.rules.decide(cmd("c1", kNow), false).result, Result::accepted);
    auto again = r.rules.decide(cmd("c1", kNow), false);
    EXPECT_EQ(again.result, Result::duplicate);
    EXPECT_EQ(again.original, Result::accepted);
    EXPECT_FALSE(again.command);  // no second effect
    EXPECT_NE(again.detail.find("already handled (accepted)"), std::string::npos) << again.detail;

    // A refusal is remembered too: a redelivery of a busy call does not start a move later.
    EXPECT_EQ(r.rules.decide(cmd("c2", kNow), true).reason, reason::busy);
    auto busy_again = r.rules.decide(cmd("c2", kNow), false);
    EXPECT_EQ(busy_again.result, Result::duplicate);
    EXPECT_EQ(busy_again.original, Result::refused);
    EXPECT_EQ(busy_again.original_reason, reason::busy);
}

TEST(AmrCallRules, MalformedCommandsAreNotRemembered) {
    Rules r;
    EXPECT_EQ(r.rules.decide(R"({"id":"c1"})", false).reason, reason::bad_ts);
    EXPECT_EQ(r.rules.remembered(), 0u);
    EXPECT_EQ(r.rules.decide(cmd("c1", kNow), false).result, Result::accepted);
}

// The table has dedupe_ids places. An accepted id holds its place until its command would be
// refused as stale anyway (ts + ttl); while every place holds such an id, a new command is
// refused as dedupe_full instead of forgetting one that a redelivery could still run again.
TEST(AmrCallRules, ALiveAcceptedIdIsNeverForgottenTheTableRefusesNewOnesWhenFull) {
    int64_t now = kNow;
    CallRulesOptions o;
    o.dedupe_ids = 2;
    o.ttl = std::chrono::milliseconds(30'000);
    CallRules rules(o, [&] { return now; });
    EXPECT_EQ(rules.decide(cmd("a", kNow), false).result, Result::accepted);
    EXPECT_EQ(rules.decide(cmd("b", kNow + 1'000), false).result, Result::accepted);
    const auto full = rules.decide(cmd("c", kNow), false);
    EXPECT_EQ(full.result, Result::refused);
    EXPECT_EQ(full.reason, reason::dedupe_full);
    EXPECT_NE(full.detail.find("2 accepted command ids are all within command_ttl"), std::string::npos)
        << full.detail;
    EXPECT_NE(full.detail.find("one expires in 30000 ms"), std::string::npos) << full.detail;
    EXPECT_EQ(rules.decide(cmd("a", kNow), false).result, Result::duplicate);
    EXPECT_EQ(rules.decide(cmd("b", kNow), false).result, Result::duplicate);
    EXPECT_EQ(rules.remembered(), 2u);

    // "a" (ts kNow) expires at kNow + ttl: a redelivery after that is stale, so its place is free.
    now = kNow + 30'001;
    EXPECT_EQ(rules.decide(cmd("d", now), false).result, Result::accepted);
    EXPECT_EQ(rules.decide(cmd("a", kNow), false).reason, reason::stale);
    EXPECT_EQ(rules.decide(cmd("b", kNow + 1'000), false).result, Result::duplicate);
}

// Issue 16: 1,000 junk ids (well formed, refused busy or future) used to evict a real one, which
// a QoS 1 redelivery then ran a second time.
TEST(AmrCallRules, AFloodOfRefusedIdsDoesNotEvictAnAcceptedOne) {
    Rules r;
    EXPECT_EQ(r.rules.decide(cmd("real", kNow), false).result, Result::accepted);
    for (int i = 0; i < 5'000; ++i) {
        const auto d = r.rules.decide(cmd("junk-" + std::to_string(i), kNow + (i % 2) * 60'000), true);
        ASSERT_EQ(d.result, Result::refused) << i;
    }
    EXPECT_LE(r.rules.remembered(), r.rules.options().dedupe_ids);
    const auto again = r.rules.decide(cmd("real", kNow), false);
    EXPECT_EQ(again.result, Result::duplicate);
    EXPECT_EQ(again.original, Result::accepted);
    EXPECT_FALSE(again.command);
    // The latest refusals are still answered as what they were.
    EXPECT_EQ(r.rules.decide(cmd("junk-4998", kNow), false).original_reason, reason::busy);
}

// Issue 16 (memory must be flat): a refusal past its ts + ttl is answered as stale anyway, so it
// must not hold a place. They used to stay until dedupe_ids places were full: at the soak's
// ~0.2 busy refusals per second the table grew for about an hour (~700 entries).
TEST(AmrCallRules, RefusalsPastTheirTtlAreForgottenSoTheTableStaysAtRateTimesTtl) {
    Rules r;  // ttl 30 s, dedupe_ids 1000
    const int64_t start = kNow;
    std::size_t most = 0;
    // One busy refusal and one accepted call per second, for 20 minutes of the injected clock.
    for (int s = 0; s < 1'200; ++s) {
        r.now = start + int64_t{s} * 1'000;
        ASSERT_EQ(r.rules.decide(cmd("busy-" + std::to_string(s), r.now), true).reason, reason::busy) << s;
        ASSERT_EQ(r.rules.decide(cmd("ok-" + std::to_string(s), r.now), false).result, Result::accepted) << s;
        most = std::max(most, r.rules.remembered());
    }
    // At most one ttl's worth of each (30 + 30), plus the ones expiring this very millisecond.
    EXPECT_LE(most, 62u);
    // What is still within its ttl is still answered as it was.
    EXPECT_EQ(r.rules.decide(cmd("busy-1199", r.now), false).original_reason, reason::busy);
    EXPECT_EQ(r.rules.decide(cmd("ok-1199", r.now), false).original, Result::accepted);
}

// What a plugin persists (accepted_ids) and gives a new instance after a restart (restore): the
// ids still within their ttl, with their expiry; a redelivery then has no second effect.
TEST(AmrCallRules, AcceptedIdsRestoredAfterARestartAreStillDuplicates) {
    Rules before;
    EXPECT_EQ(before.rules.decide(cmd("moved", kNow - 10'000), false).result, Result::accepted);
    EXPECT_EQ(before.rules.decide(cmd("old", kNow - 29'000), false).result, Result::accepted);
    EXPECT_EQ(before.rules.decide(cmd("busy", kNow), true).reason, reason::busy);
    const std::vector<AcceptedId> saved = before.rules.accepted_ids();
    ASSERT_EQ(saved.size(), 2u);  // refusals had no effect: nothing to persist for them

    Rules after;
    after.now = kNow + 5'000;  // "old" (expiry kNow + 1000) is past its ttl by now
    EXPECT_EQ(after.rules.restore(saved), 1u);
    const auto d = after.rules.decide(cmd("moved", kNow - 10'000), false);
    EXPECT_EQ(d.result, Result::duplicate);
    EXPECT_EQ(d.original, Result::accepted);
    EXPECT_EQ(after.rules.decide(cmd("old", kNow - 29'000), false).reason, reason::stale);
    EXPECT_EQ(after.rules.accepted_ids().size(), 1u);
}

TEST(AmrCallRules, ACallWhileMovingIsRefusedAsBusy) {
    Rules r;
    auto d = r.rules.decide(cmd("c1", kNow), true);
    EXPECT_EQ(d.result, Result::refused);
    EXPECT_EQ(d.reason, reason::busy);
    EXPECT_NE(d.detail.find("new id once its status is idle"), std::string::npos);
    EXPECT_EQ(r.rules.decide(cmd("c2", kNow), false).result, Result::accepted);
}

TEST(AmrCallRules, OptionsAreHonoured) {
    int64_t now = kNow;
    CallRulesOptions o;
    o.ttl = std::chrono::milliseconds(100);
    o.max_clock_skew = std::chrono::milliseconds(0);
    o.max_payload = 40;
    CallRules rules(o, [&] { return now; });
    EXPECT_EQ(rules.decide(cmd("a", kNow - 101), false).reason, reason::stale);
    EXPECT_EQ(rules.decide(cmd("b", kNow + 1), false).reason, reason::future);
    EXPECT_EQ(rules.decide(R"({"id":"c","ts":1700000000000,"x":"0123456789"})", false).reason,
              reason::oversized);
}

}  // namespace
}  // namespace iotgw::amr
