// ShadowService request flows: get/update/delete, delta, documents, versions, persistence,
// isolation and clientToken correlation.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "atomic_file.hpp"
#include "shadow.hpp"
#include "shadow_test_helpers.hpp"
#include "test_support.hpp"

// In the helpers' namespace, inside localcore: the service and the helpers need no using.
namespace localcore::shadow_test {
namespace {

namespace fs = std::filesystem;
using iotgw::test::TempDir;
using rapidjson::Document;
using rapidjson::Value;

constexpr std::int64_t kNowMs = 1'700'000'000'789;
constexpr std::int64_t kNow = 1'700'000'000;  // kNowMs in epoch seconds

std::string to_json(const Value& v) { return localcore::shadow::to_json(v); }

ShadowLimits unthrottled() {
    ShadowLimits limits;
    limits.requests_per_second_per_thing = 0;
    return limits;
}

::testing::AssertionResult json_eq(const Value& actual, const std::string& expected) {
    const Document want = parse(expected);
    if (actual == want) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "actual   " << to_json(actual) << "\nexpected " << expected;
}

std::vector<std::string> topics(const std::vector<OutboundMessage>& msgs) {
    std::vector<std::string> out;
    for (const auto& m : msgs) out.push_back(m.topic);
    return out;
}

class ShadowServiceTest : public ::testing::Test {
protected:
    std::vector<OutboundMessage> send(const std::string& topic, const std::string& payload,
                                      std::int64_t now_ms = kNowMs) {
        return send_to(service_, topic, payload, now_ms);
    }
    static std::vector<OutboundMessage> send_to(ShadowService& service, const std::string& topic,
                                                const std::string& payload, std::int64_t now_ms = kNowMs) {
        const auto t = localcore::parse_shadow_request_topic(topic);
        if (!t) {
            ADD_FAILURE() << "not a shadow request topic: " << topic;
            return {};
        }
        return service.handle(*t, payload, now_ms);
    }
    // The payload of the one message published on `topic`; fails when there is not exactly one.
    static Document only(const std::vector<OutboundMessage>& msgs, const std::string& topic) {
        const OutboundMessage* found = nullptr;
        int count = 0;
        for (const auto& m : msgs) {
            EXPECT_FALSE(m.only_to_requester) << m.topic;
            if (m.topic == topic) {
                found = &m;
                ++count;
            }
        }
        EXPECT_EQ(count, 1) << "messages on " << topic << "; got: " << ::testing::PrintToString(topics(msgs));
        return found ? parse(found->payload) : parse("{}");
    }
    // Updates and checks the update was accepted.
    void accepted_update(const std::string& prefix, const std::string& payload,
                         std::int64_t now_ms = kNowMs) {
        const auto msgs = send(prefix + "/update", payload, now_ms);
        ASSERT_FALSE(msgs.empty());
        ASSERT_EQ(msgs[0].topic, prefix + "/update/accepted") << msgs[0].payload;
    }
    Document get(const std::string& prefix) {
        return only(send(prefix + "/get", ""), prefix + "/get/accepted");
    }

    TempDir dir_;
    // These flows send many requests at one instant; the rate limit has its own tests below.
    ShadowService service_{dir_.path(), unthrottled()};
};

TEST_F(ShadowServiceTest, FirstUpdateCreatesVersionOneAndPublishesAcceptedDeltaDocuments) {
    const auto msgs =
        send(kClassic + "/update",
             R"({"state":{"desired":{"color":"RED","engine":{"rpm":900}}},"clientToken":"t-1"})");
    EXPECT_EQ(topics(msgs),
              (std::vector<std::string>{kClassic + "/update/accepted", kClassic + "/update/delta",
                                        kClassic + "/update/documents"}));

    const Document accepted = only(msgs, kClassic + "/update/accepted");
    EXPECT_TRUE(json_eq(accepted, R"({
        "state":{"desired":{"color":"RED","engine":{"rpm":900}}},
        "metadata":{"desired":{"color":{"timestamp":1700000000},"engine":{"rpm":{"timestamp":1700000000}}}},
        "version":1,"timestamp":1700000000,"clientToken":"t-1"})"));

    const Document delta = only(msgs, kClassic + "/update/delta");
    EXPECT_TRUE(json_eq(delta, R"({"version":1,"timestamp":1700000000,
        "state":{"color":"RED","engine":{"rpm":900}},
        "metadata":{"color":{"timestamp":1700000000},"engine":{"rpm":{"timestamp":1700000000}}},
        "clientToken":"t-1"})"));

    const Document documents = only(msgs, kClassic + "/update/documents");
    EXPECT_TRUE(json_eq(documents, R"({"previous":null,
        "current":{"state":{"desired":{"color":"RED","engine":{"rpm":900}}},
                   "metadata":{"desired":{"color":{"timestamp":1700000000},
                                          "engine":{"rpm":{"timestamp":1700000000}}}},
                   "version":1},
        "timestamp":1700000000,"clientToken":"t-1"})"));
}

TEST_F(ShadowServiceTest, UpdateAcceptedHoldsOnlyTheRequestFieldsNullsIncluded) {
    accepted_update(kClassic, R"({"state":{"desired":{"a":1,"b":2},"reported":{"c":3}}})", kNowMs);
    const auto msgs =
        send(kClassic + "/update", R"({"state":{"desired":{"b":null,"d":[5,6]}}})", kNowMs + 5000);
    EXPECT_TRUE(json_eq(only(msgs, kClassic + "/update/accepted"), R"({
        "state":{"desired":{"b":null,"d":[5,6]}},
        "metadata":{"desired":{"b":{"timestamp":1700000005},"d":[{"timestamp":1700000005},{"timestamp":1700000005}]}},
        "version":2,"timestamp":1700000005})"));
}

TEST_F(ShadowServiceTest, ReportedMatchingDesiredPublishesNoDelta) {
    accepted_update(kClassic, R"({"state":{"desired":{"color":"RED"}}})");
    const auto msgs = send(kClassic + "/update", R"({"state":{"reported":{"color":"RED"}}})");
    EXPECT_EQ(topics(msgs),
              (std::vector<std::string>{kClassic + "/update/accepted", kClassic + "/update/documents"}));
    const Document doc = get(kClassic);
    EXPECT_FALSE(doc["state"].HasMember("delta"));
}

TEST_F(ShadowServiceTest, DeltaFollowsEveryUpdateWhileDesiredAndReportedDiffer) {
    accepted_update(kClassic, R"({"state":{"desired":{"color":"RED","speed":2}}})");
    // A reported update that leaves part of desired unmet still publishes the remaining delta.
    const auto msgs =
        send(kClassic + "/update", R"({"state":{"reported":{"color":"RED"}},"clientToken":"r"})");
    const Document delta = only(msgs, kClassic + "/update/delta");
    EXPECT_TRUE(json_eq(delta["state"], R"({"speed":2})"));
    EXPECT_EQ(delta["version"].GetInt64(), 2);
    EXPECT_EQ(token_of(delta), "r");
}

TEST_F(ShadowServiceTest, DeltaKeepsNestedPathsComparesArraysAndUsesDesiredTimestamps) {
    accepted_update(kClassic,
                    R"({"state":{"desired":{"nav":{"goal":{"x":1,"y":2},"speed":1},"route":[1,2,3],
                        "tags":["a",{"k":1}],"n":1}}})",
                    kNowMs);
    const auto msgs = send(kClassic + "/update",
                           R"({"state":{"reported":{"nav":{"goal":{"x":1,"y":5},"speed":1},"route":[1,2],
                               "tags":["a",{"k":1}],"n":1.0,"battery":80}}})",
                           kNowMs + 60000);
    const Document delta = only(msgs, kClassic + "/update/delta");
    EXPECT_TRUE(json_eq(delta["state"], R"({"nav":{"goal":{"y":2}},"route":[1,2,3]})"));
    // The timestamps are those of the desired values, set at kNow, not the reported update's.
    EXPECT_TRUE(json_eq(delta["metadata"], R"({"nav":{"goal":{"y":{"timestamp":1700000000}}},
        "route":[{"timestamp":1700000000},{"timestamp":1700000000},{"timestamp":1700000000}]})"));
    EXPECT_EQ(delta["timestamp"].GetInt64(), kNow + 60);
}

TEST_F(ShadowServiceTest, GetReturnsFullDocumentWithDeltaOnlyWhenNonEmpty) {
    accepted_update(kClassic, R"({"state":{"desired":{"color":"RED","mode":"auto"}}})", kNowMs);
    accepted_update(kClassic, R"({"state":{"reported":{"color":"GREEN","mode":"auto"}}})", kNowMs + 1000);
    const auto msgs = send(kClassic + "/get", R"({"clientToken":"g-1"})", kNowMs + 2000);
    EXPECT_EQ(msgs.size(), 1u);
    EXPECT_TRUE(json_eq(only(msgs, kClassic + "/get/accepted"), R"({
        "state":{"desired":{"color":"RED","mode":"auto"},"reported":{"color":"GREEN","mode":"auto"},
                 "delta":{"color":"RED"}},
        "metadata":{"desired":{"color":{"timestamp":1700000000},"mode":{"timestamp":1700000000}},
                    "reported":{"color":{"timestamp":1700000001},"mode":{"timestamp":1700000001}}},
        "version":2,"timestamp":1700000002,"clientToken":"g-1"})"));

    accepted_update(kClassic, R"({"state":{"reported":{"color":"RED"}}})");
    const Document in_sync = get(kClassic);
    EXPECT_FALSE(in_sync["state"].HasMember("delta"));
    EXPECT_FALSE(in_sync["metadata"].HasMember("delta"));
    EXPECT_FALSE(in_sync.HasMember("clientToken"));  // the request had none
    EXPECT_EQ(in_sync["version"].GetInt64(), 3);
}

TEST_F(ShadowServiceTest, MergeSemanticsThroughTheService) {
    accepted_update(kClassic, R"({"state":{"desired":{"a":{"b":1,"c":2},"list":[1,2,3],"x":1}}})");
    accepted_update(kClassic, R"({"state":{"desired":{"a":{"c":null,"d":4},"list":[9],"x":null}}})");
    EXPECT_TRUE(json_eq(get(kClassic)["state"], R"({"desired":{"a":{"b":1,"d":4},"list":[9]},
        "delta":{"a":{"b":1,"d":4},"list":[9]}})"));
}

TEST_F(ShadowServiceTest, DesiredNullRemovesTheSectionAndTheDelta) {
    accepted_update(kClassic, R"({"state":{"desired":{"color":"RED"},"reported":{"color":"GREEN"}}})");
    const auto msgs = send(kClassic + "/update", R"({"state":{"desired":null}})");
    EXPECT_TRUE(json_eq(only(msgs, kClassic + "/update/accepted")["state"], R"({"desired":null})"));
    EXPECT_EQ(topics(msgs),
              (std::vector<std::string>{kClassic + "/update/accepted", kClassic + "/update/documents"}));
    const Document doc = get(kClassic);
    EXPECT_TRUE(json_eq(doc["state"], R"({"reported":{"color":"GREEN"}})"));
    EXPECT_TRUE(json_eq(doc["metadata"], R"({"reported":{"color":{"timestamp":1700000000}}})"));
}

TEST_F(ShadowServiceTest, StateNullClearsEverythingButKeepsTheShadow) {
    accepted_update(kClassic, R"({"state":{"desired":{"a":1},"reported":{"b":2}}})");
    const auto msgs = send(kClassic + "/update", R"({"state":null,"clientToken":"n"})");
    const Document accepted = only(msgs, kClassic + "/update/accepted");
    EXPECT_TRUE(json_eq(accepted["state"], R"({"desired":null,"reported":null})"));
    EXPECT_TRUE(json_eq(accepted["metadata"],
                        R"({"desired":{"timestamp":1700000000},"reported":{"timestamp":1700000000}})"));
    const Document doc = get(kClassic);
    EXPECT_TRUE(json_eq(doc["state"], "{}"));
    EXPECT_TRUE(json_eq(doc["metadata"], "{}"));
    EXPECT_EQ(doc["version"].GetInt64(), 2);
}

TEST_F(ShadowServiceTest, EmptyStateCreatesAnEmptyShadow) {
    accepted_update(kClassic, R"({"state":{}})");
    const Document doc = get(kClassic);
    EXPECT_TRUE(json_eq(doc["state"], "{}"));
    EXPECT_EQ(doc["version"].GetInt64(), 1);
}

TEST_F(ShadowServiceTest, OtherTopLevelContentIsIgnored) {
    const auto msgs = send(kClassic + "/update",
                           R"({"state":{"reported":{"a":1}},"metadata":{"reported":{"a":{"timestamp":1}}},
                               "timestamp":5,"junk":[[[[[[[[1]]]]]]]]})");
    const Document accepted = only(msgs, kClassic + "/update/accepted");
    EXPECT_FALSE(accepted.HasMember("junk"));
    EXPECT_TRUE(json_eq(accepted["metadata"], R"({"reported":{"a":{"timestamp":1700000000}}})"));
    EXPECT_EQ(accepted["timestamp"].GetInt64(), kNow);
    EXPECT_TRUE(json_eq(get(kClassic)["metadata"], R"({"reported":{"a":{"timestamp":1700000000}}})"));
}

TEST_F(ShadowServiceTest, DeveloperGuideOptimisticLockingExample) {
    accepted_update(kClassic, R"({"state":{"desired":{"colors":["RED","GREEN","BLUE"]}}})");
    for (int i = 2; i <= 10; ++i)
        accepted_update(kClassic, R"({"state":{"reported":{"n":)" + std::to_string(i) + "}}}");
    ASSERT_EQ(get(kClassic)["version"].GetInt64(), 10);

    const auto stale = send(kClassic + "/update",
                            R"({"state":{"desired":{"colors":["BLUE"]}},"version":9,
                                "clientToken":"426bfd96-e720-46d3-95cd-014e3ef12bb6"})");
    EXPECT_EQ(stale.size(), 1u);
    EXPECT_TRUE(json_eq(only(stale, kClassic + "/update/rejected"),
                        R"({"code":409,"message":"Version conflict","timestamp":1700000000,
                            "clientToken":"426bfd96-e720-46d3-95cd-014e3ef12bb6"})"));
    EXPECT_EQ(get(kClassic)["version"].GetInt64(), 10);

    const auto ok = send(kClassic + "/update", R"({"state":{"desired":{"colors":["BLUE"]}},"version":10})");
    EXPECT_EQ(only(ok, kClassic + "/update/accepted")["version"].GetInt64(), 11);
    const Document doc = get(kClassic);
    EXPECT_TRUE(json_eq(doc["state"]["desired"], R"({"colors":["BLUE"]})"));
    EXPECT_EQ(doc["version"].GetInt64(), 11);

    // A version ahead of the current one is a conflict too; leaving it out skips the check.
    EXPECT_EQ(send(kClassic + "/update", R"({"state":{},"version":12})")[0].topic,
              kClassic + "/update/rejected");
    accepted_update(kClassic, R"({"state":{}})");
    EXPECT_EQ(get(kClassic)["version"].GetInt64(), 12);
}

TEST_F(ShadowServiceTest, VersionOfANewShadowIsZero) {
    EXPECT_EQ(send(kClassic + "/update", R"({"state":{},"version":1})")[0].topic,
              kClassic + "/update/rejected");
    accepted_update(kClassic, R"({"state":{"reported":{"a":1}},"version":0})");
    EXPECT_EQ(get(kClassic)["version"].GetInt64(), 1);
}

TEST_F(ShadowServiceTest, DocumentsCarryPreviousAndCurrent) {
    accepted_update(kClassic, R"({"state":{"desired":{"a":1}}})", kNowMs);
    const auto msgs = send(kClassic + "/update", R"({"state":{"reported":{"a":1},"desired":{"b":[true]}},
                                                    "clientToken":"d"})",
                           kNowMs + 3000);
    EXPECT_TRUE(json_eq(only(msgs, kClassic + "/update/documents"), R"({
        "previous":{"state":{"desired":{"a":1}},"metadata":{"desired":{"a":{"timestamp":1700000000}}},"version":1},
        "current":{"state":{"desired":{"a":1,"b":[true]},"reported":{"a":1}},
                   "metadata":{"desired":{"a":{"timestamp":1700000000},"b":[{"timestamp":1700000003}]},
                               "reported":{"a":{"timestamp":1700000003}}},
                   "version":2},
        "timestamp":1700000003,"clientToken":"d"})"));
}

TEST_F(ShadowServiceTest, ShadowsPersistAcrossServiceInstances) {
    accepted_update(kClassic, R"({"state":{"desired":{"a":1},"reported":{"a":0}}})");
    accepted_update(kNamed, R"({"state":{"reported":{"b":[1,2]}}})");
    EXPECT_TRUE(fs::is_regular_file(dir_.path() / "shadows" / "AMR-001" / "$classic.json"));
    EXPECT_TRUE(fs::is_regular_file(dir_.path() / "shadows" / "AMR-001" / "nav.json"));

    const Document before = get(kClassic);
    ShadowService reopened(dir_.path(), unthrottled());
    const Document after = only(send_to(reopened, kClassic + "/get", ""), kClassic + "/get/accepted");
    EXPECT_TRUE(after == before) << to_json(after) << "\n" << to_json(before);
    EXPECT_TRUE(json_eq(after["state"]["delta"], R"({"a":1})"));

    const auto msgs = send_to(reopened, kNamed + "/update", R"({"state":{"reported":{"c":3}}})");
    EXPECT_EQ(only(msgs, kNamed + "/update/accepted")["version"].GetInt64(), 2);
    EXPECT_TRUE(json_eq(only(msgs, kNamed + "/update/documents")["previous"]["state"],
                        R"({"reported":{"b":[1,2]}})"));
}

TEST_F(ShadowServiceTest, DeleteKeepsTheVersionCounter) {
    for (int i = 0; i < 3; ++i)
        accepted_update(kClassic, R"({"state":{"reported":{"i":)" + std::to_string(i) + "}}}");

    const auto deleted = send(kClassic + "/delete", R"({"clientToken":"del"})");
    EXPECT_EQ(deleted.size(), 1u);
    EXPECT_TRUE(json_eq(only(deleted, kClassic + "/delete/accepted"),
                        R"({"version":3,"timestamp":1700000000,"clientToken":"del"})"));

    EXPECT_TRUE(
        json_eq(only(send(kClassic + "/get", ""), kClassic + "/get/rejected"),
                R"({"code":404,"message":"No shadow exists with name: 'AMR-001'","timestamp":1700000000})"));
    EXPECT_EQ(topics(send(kClassic + "/delete", "")),
              (std::vector<std::string>{kClassic + "/delete/rejected"}));

    // Re-created: numbering continues, and there is no previous document. Also after a restart.
    ShadowService reopened(dir_.path(), unthrottled());
    const auto msgs = send_to(reopened, kClassic + "/update", R"({"state":{"desired":{"x":1}},"version":3})");
    EXPECT_EQ(only(msgs, kClassic + "/update/accepted")["version"].GetInt64(), 4);
    const Document documents = only(msgs, kClassic + "/update/documents");
    EXPECT_TRUE(documents["previous"].IsNull());
    EXPECT_TRUE(json_eq(documents["current"], R"({"state":{"desired":{"x":1}},
        "metadata":{"desired":{"x":{"timestamp":1700000000}}},"version":4})"));
    // The old state is gone for good.
    EXPECT_TRUE(json_eq(get(kClassic)["state"], R"({"desired":{"x":1},"delta":{"x":1}})"));
}

TEST_F(ShadowServiceTest, DeleteWithEmptyPayloadHasNoClientToken) {
    accepted_update(kNamed, R"({"state":{"reported":{"a":1}}})");
    const Document accepted = only(send(kNamed + "/delete", ""), kNamed + "/delete/accepted");
    EXPECT_TRUE(json_eq(accepted, R"({"version":1,"timestamp":1700000000})"));
}

TEST_F(ShadowServiceTest, MissingShadowMessagesNameClassicByThingAndNamedByShadow) {
    EXPECT_TRUE(json_eq(only(send(kClassic + "/get", R"({"clientToken":"c"})"), kClassic + "/get/rejected"),
                        R"({"code":404,"message":"No shadow exists with name: 'AMR-001'",
                            "timestamp":1700000000,"clientToken":"c"})"));
    EXPECT_TRUE(json_eq(only(send(kNamed + "/delete", R"({"clientToken":"c"})"), kNamed + "/delete/rejected"),
                        R"({"code":404,"message":"No shadow exists with name: 'nav'",
                            "timestamp":1700000000,"clientToken":"c"})"));
    // Nothing was written for a request about a shadow that does not exist.
    EXPECT_FALSE(fs::exists(dir_.path() / "shadows"));
}

TEST_F(ShadowServiceTest, NamedAndClassicShadowsAreIsolated) {
    accepted_update(kClassic, R"({"state":{"desired":{"a":1}}})");
    accepted_update(kNamed, R"({"state":{"reported":{"b":2}}})");
    accepted_update(kNamed, R"({"state":{"reported":{"b":3}}})");
    const std::string other = "$aws/things/AMR-002/shadow";
    accepted_update(other, R"({"state":{"reported":{"c":4}}})");

    EXPECT_TRUE(json_eq(get(kClassic)["state"], R"({"desired":{"a":1},"delta":{"a":1}})"));
    EXPECT_EQ(get(kClassic)["version"].GetInt64(), 1);
    EXPECT_TRUE(json_eq(get(kNamed)["state"], R"({"reported":{"b":3}})"));
    EXPECT_EQ(get(kNamed)["version"].GetInt64(), 2);
    EXPECT_TRUE(json_eq(get(other)["state"], R"({"reported":{"c":4}})"));

    EXPECT_EQ(topics(send(kNamed + "/delete", "")), (std::vector<std::string>{kNamed + "/delete/accepted"}));
    EXPECT_EQ(get(kClassic)["version"].GetInt64(), 1);
    EXPECT_EQ(topics(send(kNamed + "/get", "")), (std::vector<std::string>{kNamed + "/get/rejected"}));
    EXPECT_EQ(get(other)["version"].GetInt64(), 1);
}

// AWS keeps shadows for any thing name the policy allows, registered or not (there is no
// registry here to ask): a missing shadow is 404 "No shadow exists", never "Thing not found".
TEST_F(ShadowServiceTest, AnyThingNameHasShadows) {
    const std::string ghost = "$aws/things/GHOST/shadow";
    const std::string ghost_named = "$aws/things/GHOST/shadow/name/nav";
    for (const char* op : {"/get", "/delete"}) {
        EXPECT_TRUE(json_eq(
            only(send(ghost + op, R"({"clientToken":"g"})"), ghost + op + "/rejected"),
            R"({"code":404,"message":"No shadow exists with name: 'GHOST'","timestamp":1700000000,"clientToken":"g"})"));
        EXPECT_TRUE(json_eq(
            only(send(ghost_named + op, R"({"clientToken":"g"})"), ghost_named + op + "/rejected"),
            R"({"code":404,"message":"No shadow exists with name: 'nav'","timestamp":1700000000,"clientToken":"g"})"));
    }
    accepted_update(ghost, R"({"state":{"reported":{"a":1}}})");
    accepted_update(ghost_named, R"({"state":{"reported":{"b":2}}})");
    EXPECT_TRUE(json_eq(get(ghost)["state"], R"({"reported":{"a":1}})"));
    EXPECT_TRUE(json_eq(get(ghost_named)["state"], R"({"reported":{"b":2}})"));
}

TEST_F(ShadowServiceTest, ClientTokenIsEchoedOnEveryReplyKind) {
    const std::string token = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";  // 64 bytes
    ASSERT_EQ(token.size(), 64u);
    const std::string t = R"("clientToken":")" + token + "\"";
    std::vector<OutboundMessage> all;
    const auto add = [&all](const std::vector<OutboundMessage>& msgs) {
        all.insert(all.end(), msgs.begin(), msgs.end());
    };
    add(send(kNamed + "/get", "{" + t + "}"));  // get/rejected 404
    add(send(kNamed + "/update",
             R"({"state":{"desired":{"a":1}},)" + t + "}"));  // accepted, delta, documents
    add(send(kNamed + "/update", R"({"state":{"desired":{"a":2}},"version":7,)" + t + "}"));  // 409
    add(send(kNamed + "/update", R"({"state":{"bad":1},)" + t + "}"));                        // 400
    add(send(kNamed + "/get", "{" + t + "}"));                                                // get/accepted
    add(send(kNamed + "/delete", "{" + t + "}"));  // delete/accepted
    add(send(kNamed + "/delete", "{" + t + "}"));  // delete/rejected

    std::set<std::string> kinds;
    for (const auto& m : all) {
        kinds.insert(m.topic.substr(kNamed.size()));
        const Document d = parse(m.payload);
        EXPECT_EQ(token_of(d), token) << m.topic << ": " << m.payload;
    }
    EXPECT_EQ(kinds, (std::set<std::string>{"/get/rejected", "/get/accepted", "/update/accepted",
                                            "/update/delta", "/update/documents", "/update/rejected",
                                            "/delete/accepted", "/delete/rejected"}));
}

TEST_F(ShadowServiceTest, TimestampsAreEpochSeconds) {
    const auto msgs = send(kClassic + "/update", R"({"state":{"desired":{"a":1}}})", 1'234'567'890'999);
    for (const auto& m : msgs) EXPECT_EQ(parse(m.payload)["timestamp"].GetInt64(), 1'234'567'890) << m.topic;
    EXPECT_EQ(get(kClassic)["metadata"]["desired"]["a"]["timestamp"].GetInt64(), 1'234'567'890);
}

TEST_F(ShadowServiceTest, GetIgnoresItsBodyApartFromClientToken) {
    accepted_update(kClassic, R"({"state":{"reported":{"a":1}}})");
    for (const char* body : {"", "  \n", "5", "[1,2]", R"({"state":{"bad":1},"version":"x"})", R"("text")"})
        EXPECT_EQ(topics(send(kClassic + "/get", body)),
                  (std::vector<std::string>{kClassic + "/get/accepted"}))
            << body;
}

}  // namespace
}  // namespace localcore::shadow_test
