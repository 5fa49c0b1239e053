// The shadow plugin's pure rules, tested on their own: the version gate, document limits and
// merge, desired-state validation, clientTokens, topics and the retry backoff.
#include "client_tokens.hpp"
#include "desired_request.hpp"
#include "document.hpp"
#include "replica.hpp"
#include "topics.hpp"
#include "version_gate.hpp"

#include <iotgw/plugins/common/backoff.hpp>

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace iotgw::plugins::shadow {
namespace {

rapidjson::Document json(const std::string& text) {
    rapidjson::Document d;
    d.Parse(text.c_str(), text.size());
    EXPECT_FALSE(d.HasParseError()) << text;
    return d;
}

TEST(ShadowVersionGate, OnlyANewerVersionIsApplied) {
    EXPECT_EQ(judge_version(5, 4, false), Verdict::not_newer);  // stale
    EXPECT_EQ(judge_version(5, 5, false), Verdict::not_newer);  // a second carrier of version 5
    EXPECT_EQ(judge_version(5, 4, true), Verdict::not_newer);   // a whole document too
    EXPECT_EQ(judge_version(5, 5, true), Verdict::not_newer);
    EXPECT_EQ(judge_version(5, 6, false), Verdict::apply);  // the next step
    EXPECT_EQ(judge_version(5, 6, true), Verdict::apply);
}

TEST(ShadowVersionGate, APartialMessageFurtherAheadIsAGapAWholeDocumentIsNot) {
    EXPECT_EQ(judge_version(5, 7, false), Verdict::gap);
    EXPECT_EQ(judge_version(5, 700, true), Verdict::apply);
    // Nothing held: only a whole document can start the replica.
    EXPECT_EQ(judge_version(std::nullopt, 1, false), Verdict::gap);
    EXPECT_EQ(judge_version(std::nullopt, 9, true), Verdict::apply);
    EXPECT_EQ(judge_version(std::nullopt, 0, true), Verdict::apply);
}

TEST(ShadowDocument, MergeFollowsTheShadowService) {
    auto target =
        json(R"({"desired":{"state":"moving","speed":{"max":2,"min":1}},"reported":{"state":"idle"}})");
    auto patch = json(R"({"desired":{"state":null,"speed":{"min":null},"new":{"a":null,"b":[1,2]}},
                          "reported":{"state":"moving","extra":{"x":null}}})");
    merge_into(target, patch, target.GetAllocator());
    EXPECT_EQ(to_json(target),
              R"({"desired":{"speed":{"max":2},"new":{"b":[1,2]}},"reported":{"state":"moving"}})");
    // A key emptied by the merge disappears, as the service stores it.
    auto clear = json(R"({"desired":{"speed":{"max":null},"new":null}})");
    merge_into(target, clear, target.GetAllocator());
    EXPECT_EQ(to_json(target), R"({"reported":{"state":"moving"}})");
}

TEST(ShadowDocument, LimitsAreThoseOfAwsIot) {
    Limits limits;
    // 6 levels counting the section itself pass; 7 do not.
    auto six = json(R"({"reported":{"a":{"b":{"c":{"d":{"e":{}}}}}}})");
    EXPECT_FALSE(limit_problem(six, limits)) << *limit_problem(six, limits);
    auto seven = json(R"({"desired":{"a":{"b":{"c":{"d":{"e":{"f":{}}}}}}}})");
    auto deep = limit_problem(seven, limits);
    ASSERT_TRUE(deep);
    EXPECT_NE(deep->find("desired is nested more than 6 levels"), std::string::npos) << *deep;
    auto arrays = json(R"({"reported":{"a":[[[[[[1]]]]]]}})");
    EXPECT_TRUE(limit_problem(arrays, limits));

    // 8192 bytes of desired + reported pass, one more does not; metadata does not count.
    const std::string fill(8192 - std::string(R"({"k":""})").size(), 'x');
    auto exact = json(R"({"reported":{"k":")" + fill + R"("},"metadata":{"x":")" + fill + R"("}})");
    EXPECT_EQ(state_bytes(exact), 8192u);
    EXPECT_FALSE(limit_problem(exact, limits));
    auto over = json(R"({"reported":{"k":")" + fill + R"("},"desired":{}})");
    const auto big = limit_problem(over, limits);
    ASSERT_TRUE(big);
    EXPECT_NE(big->find("8194 bytes, over the limit of 8192"), std::string::npos) << *big;
}

TEST(ShadowDocument, DepthOfHostileInputIsBoundedNotRecursedThrough) {
    std::string deep;
    for (int i = 0; i < 5000; ++i) deep += "[";
    for (int i = 0; i < 5000; ++i) deep += "]";
    rapidjson::Document d;
    d.Parse<rapidjson::kParseIterativeFlag>(deep.c_str());
    ASSERT_FALSE(d.HasParseError());
    EXPECT_EQ(nesting_depth(d, 6), 7);  // "deeper than 6", found without walking 5000 levels
}

TEST(ShadowReplica, KeepsDesiredTimestampsAndVersion) {
    Replica r;
    EXPECT_FALSE(r.exists());
    auto doc = json(R"({"state":{"desired":{"state":"moving"},"reported":{"state":"idle"}},
                        "metadata":{"desired":{"state":{"timestamp":1700000000}}}})");
    r.replace(doc["state"], &doc["metadata"], 7);
    EXPECT_EQ(r.version(), 7);
    EXPECT_EQ(r.desired_timestamp("state"), 1700000000);
    auto echo = json(R"({"state":{"desired":{"state":null,"target":"dock"},"reported":{"state":"moving"}},
                         "metadata":{"desired":{"state":{"timestamp":1700000005},"target":{"timestamp":1700000005}}}})");
    r.apply_update(echo["state"], &echo["metadata"], 8);
    EXPECT_EQ(to_json(r.state()), R"({"desired":{"target":"dock"},"reported":{"state":"moving"}})");
    EXPECT_EQ(r.desired_timestamp("state"), 0);
    EXPECT_EQ(r.desired_timestamp("target"), 1700000005);
    auto delta = json(R"({"state":{"state":"moving"},"metadata":{"state":{"timestamp":1700000009}}})");
    r.apply_delta(delta["state"], &delta["metadata"], 9);
    EXPECT_EQ(r.version(), 9);
    EXPECT_EQ(r.desired_timestamp("state"), 1700000009);
    r.clear();
    EXPECT_FALSE(r.exists());
    EXPECT_EQ(to_json(r.state()), R"({"desired":{},"reported":{}})");
}

// A gateway runs for months: the replica's memory must not grow with the number of updates it has
// seen, only with the size of the document it holds. RapidJSON's pool allocator never returns
// what SetObject, RemoveMember or CopyFrom leave behind, so this counts the pool's bytes after
// 100,000 updates, deltas, whole documents and deletions of a document that stays under 1 KB.
TEST(ShadowReplica, MemoryStaysFlatUnderAStreamOfUpdates) {
    Replica r;
    std::size_t after_warmup = 0;
    for (int i = 0; i < 100000; ++i) {
        const std::string n = std::to_string(i);
        const std::string pos = R"({"x":)" + n + R"(,"y":)" + std::to_string(i % 97) + "}";
        if (i % 4 == 0) {
            auto doc = json(R"({"state":{"desired":{"state":"moving","target":"dock-)" + n +
                            R"("},"reported":{"state":"idle","pos":)" + pos + R"(}},
                                "metadata":{"desired":{"state":{"timestamp":)" + n + "}}}}");
            r.replace(doc["state"], &doc["metadata"], i + 1);  // a GET's whole document (resync)
        } else if (i % 4 == 1) {
            auto up = json(R"({"state":{"reported":{"state":"moving","pos":)" + pos +
                           R"(,"battery":)" + std::to_string(i % 100) + "}}}");
            r.apply_update(up["state"], nullptr, i + 1);
        } else if (i % 4 == 2) {
            auto delta = json(R"({"state":{"state":"idle","target":null},"metadata":{"state":{"timestamp":)" +
                              n + "}}}");
            r.apply_delta(delta["state"], &delta["metadata"], i + 1);
        } else if (i % 1000 == 3) {
            r.clear();  // deleted
        } else {
            auto up = json(R"({"state":{"desired":null,"reported":{"pos":null,"note":")" + n + R"("}}})");
            r.apply_update(up["state"], nullptr, i + 1);
        }
        if (i == 1000) after_warmup = r.pool_bytes();
    }
    EXPECT_LT(to_json(r.state()).size(), 1024u);
    // Bounded by the document, not by the 100,000 steps: a leak of even a few bytes per step
    // would pass 1 MB long before the end.
    EXPECT_LE(r.pool_bytes(), std::size_t{256} * 1024) << "after 1,000 steps: " << after_warmup;
}

// Every clear() and every compaction starts a fresh pool. For a document of a few hundred bytes
// that must cost a message-sized chunk, not RapidJSON's default 64 KiB (json_document.hpp).
TEST(ShadowReplica, ASmallDocumentTakesASmallPool) {
    Replica r;
    EXPECT_LE(r.pool_bytes(), sdk::kMessageChunkBytes);
    auto doc = json(R"({"state":{"desired":{"state":"idle"},"reported":{"state":"idle","pos":{"x":1,"y":2}}},
                        "metadata":{"desired":{"state":{"timestamp":1764900000}}}})");
    r.replace(doc["state"], &doc["metadata"], 7);
    EXPECT_EQ(r.version(), 7);
    EXPECT_LE(r.pool_bytes(), 2 * sdk::kMessageChunkBytes);
}

TEST(ShadowDesiredRules, MovingAndIdleAreTheOnlyRequests) {
    auto moving = judge_desired(json(R"({"state":"moving","target":"dock-3"})"));
    ASSERT_TRUE(moving.call) << moving.problem;
    EXPECT_EQ(moving.call->state, "moving");
    EXPECT_EQ(moving.call->target, "dock-3");
    auto idle = judge_desired(json(R"({"state":"idle"})"));
    ASSERT_TRUE(idle.call);
    EXPECT_FALSE(idle.call->target);

    const std::pair<const char*, const char*> refused[] = {
        {R"({"state":"flying"})", "desired.state 'flying' is not a state the AMR can be asked for"},
        {R"({"state":42})", "desired.state must be a string, got a number"},
        {R"({"state":{"a":1}})", "desired.state must be a string, got an object"},
        {R"({"colour":"red","state":"moving"})", "unknown desired key 'colour'"},
        {R"({"target":"dock"})", "desired has 'target' without 'state'"},
        {R"({"state":"idle","target":"dock"})", "desired.target only goes with desired.state \"moving\""},
        {R"({"state":"moving","target":""})", "desired.target is 0 bytes long"},
        {R"({"state":"moving","target":"a\u0001b"})", "desired.target contains a control character"},
        {R"({"state":"moving","target":["a"]})", "desired.target must be a string, got an array"},
    };
    for (const auto& [doc, why] : refused) {
        auto v = judge_desired(json(doc));
        EXPECT_FALSE(v.call) << doc;
        EXPECT_NE(v.problem.find(why), std::string::npos) << doc << " -> " << v.problem;
        EXPECT_NE(v.problem.find(R"(desired accepts {"state":"moving"|"idle"})"), std::string::npos)
            << v.problem;
    }
}

TEST(ShadowClientTokens, UniqueBoundedAndRecognisable) {
    ClientTokens tokens(std::string(100, 'n'), 0xdeadbeef);
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        const std::string t = tokens.next();
        EXPECT_LE(t.size(), ClientTokens::kMaxBytes);
        EXPECT_TRUE(tokens.is_ours(t));
        EXPECT_TRUE(seen.insert(t).second) << t;
    }
    EXPECT_EQ(*seen.begin(), std::string(24, 'n') + "-deadbeef-1");
    // Another run (another random part) does not claim this run's replies.
    ClientTokens other(std::string(100, 'n'), 0x12345678);
    EXPECT_FALSE(other.is_ours(*seen.begin()));
}

TEST(ShadowTopics, NamedAndClassicShadows) {
    const Topics named("AMR-001", "robot");
    EXPECT_EQ(named.get(), "$aws/things/AMR-001/shadow/name/robot/get");
    EXPECT_EQ(named.update(), "$aws/things/AMR-001/shadow/name/robot/update");
    EXPECT_EQ(named.classify("$aws/things/AMR-001/shadow/name/robot/update/delta"), Reply::update_delta);
    EXPECT_EQ(named.classify("$aws/things/AMR-001/shadow/name/robot/get/accepted"), Reply::get_accepted);
    EXPECT_FALSE(named.classify("$aws/things/AMR-001/shadow/name/robot/update"));  // a request
    EXPECT_FALSE(named.classify("$aws/things/AMR-001/shadow/name/robotic/get/accepted"));
    EXPECT_FALSE(named.classify("$aws/things/AMR-002/shadow/name/robot/get/accepted"));
    EXPECT_TRUE(named.is_shadow_topic_of_thing("$aws/things/AMR-001/shadow/name/other/get/accepted"));

    const Topics classic("AMR-001", "");
    EXPECT_EQ(classic.update(), "$aws/things/AMR-001/shadow/update");
    EXPECT_EQ(classic.classify("$aws/things/AMR-001/shadow/delete/accepted"), Reply::delete_accepted);
    EXPECT_FALSE(classic.classify("$aws/things/AMR-001/shadow/name/robot/get/accepted"));

    EXPECT_TRUE(valid_shadow_name("robot"));
    EXPECT_TRUE(valid_shadow_name("$x:y_z-1"));
    EXPECT_FALSE(valid_shadow_name(""));
    EXPECT_FALSE(valid_shadow_name("a/b"));
    EXPECT_FALSE(valid_shadow_name(std::string(65, 'a')));
}

// The settings shadow.cpp uses: equal jitter and no floor.
common::Backoff shadow_backoff(std::chrono::milliseconds min, std::chrono::milliseconds max) {
    return common::Backoff({.min = min,
                            .max = max,
                            .jitter = common::Backoff::Jitter::equal,
                            .floor = std::chrono::milliseconds(0)},
                           42);
}

TEST(ShadowBackoff, DoublesUpToTheBoundWithEqualJitter) {
    using std::chrono::milliseconds;
    common::Backoff b = shadow_backoff(milliseconds(200), milliseconds(1000));
    EXPECT_EQ(b.ceiling(0), milliseconds(200));
    EXPECT_EQ(b.ceiling(1), milliseconds(400));
    EXPECT_EQ(b.ceiling(2), milliseconds(800));
    EXPECT_EQ(b.ceiling(3), milliseconds(1000));
    EXPECT_EQ(b.ceiling(400), milliseconds(1000));
    for (unsigned n = 0; n < 50; ++n) {
        const auto d = b.delay(n);
        EXPECT_GE(d, b.ceiling(n) / 2);
        EXPECT_LE(d, b.ceiling(n));
    }
}

TEST(ShadowBackoff, ARetryMinBelowTheConnectionFloorIsKept) {
    using std::chrono::milliseconds;
    common::Backoff b = shadow_backoff(milliseconds(10), milliseconds(30));
    EXPECT_EQ(b.ceiling(0), milliseconds(10));
    EXPECT_EQ(b.ceiling(5), milliseconds(30));
    for (int i = 0; i < 50; ++i) {
        const auto d = b.delay(0);
        EXPECT_GE(d, milliseconds(5));
        EXPECT_LE(d, milliseconds(10));
    }
}

}  // namespace
}  // namespace iotgw::plugins::shadow
