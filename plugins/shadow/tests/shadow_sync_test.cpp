// The `shadow` processor in a real gateway with a stand-in connection: reports with clientToken
// and version, replies matched by clientToken, only newer versions applied, resync by GET on a
// gap, a reconnect, a conflict or a failure, limits, and malformed input that changes nothing.
#include "doubles_gateway_test.hpp"
#include "fake_shadow_service.hpp"

#include <gtest/gtest.h>

#include <rapidjson/document.h>

#include <functional>
#include <string>
#include <vector>

namespace iotgw::test {
namespace {

using plugins::shadow::testing::deliver;
using plugins::shadow::testing::FakeShadowService;
using plugins::shadow::testing::topic;

constexpr const char* kStatus = "amr/AMR-001/status";
constexpr const char* kCall = "amr/AMR-001/cmd/call";

rapidjson::Document parse(const std::string& text) {
    rapidjson::Document d;
    d.Parse(text.c_str(), text.size());
    EXPECT_FALSE(d.HasParseError()) << text;
    return d;
}

std::string str(const rapidjson::Value& v, const char* member) {
    if (!v.IsObject() || !v.HasMember(member) || !v[member].IsString()) return "<none>";
    return v[member].GetString();
}

// The `shadow` instance "shadow" with `fields`: reports fed by "feed", replies from the
// connection through the pipeline with the topic filter `replies`.
std::string config(const std::string& fields,
                   const std::string& replies = "$aws/things/${thing}/shadow/name/robot/+/+") {
    return with_cloud_link()
        .source("feed", "test_feed")
        .processor("shadow", "shadow", "connection = \"cloud\"\n" + fields)
        .pipeline("call", "feed", {"cloud"}, {"shadow"})
        .pipeline("shadow", "cloud:" + replies, {"shadow"});
}

class ShadowSync : public DoublesGatewayTest {
protected:
    std::string start(const std::string& options = "") {
        return h.start(config("retry_min = \"20ms\"\nretry_max = \"40ms\"\n" + options));
    }

    // What the processor sent on `sub` ("get", "update"), parsed, oldest first.
    static std::vector<rapidjson::Document> sent(const std::string& sub) {
        std::vector<rapidjson::Document> out;
        for (const auto& s : doubles::seen_on(topic(sub))) out.push_back(parse(s.payload));
        return out;
    }
    static std::string last_token(const std::string& sub) {
        const auto all = sent(sub);
        return all.empty() ? "" : str(all.back(), "clientToken");
    }
    static bool status(const std::string& state, const std::string& extra = "") {
        return doubles::feed("feed", kStatus, R"({"state":")" + state + R"(","seq":1,"ts":1)" + extra + "}",
                             1, true);
    }
    bool wait_sent(const std::string& sub, std::size_t n) {
        return h.run_until([&] { return doubles::seen_on(topic(sub)).size() >= n; }, std::chrono::seconds(3));
    }
    uint64_t counter(const std::string& name) { return counter_value("shadow." + name); }
    // Run the loop with `svc` answering until `done()`.
    bool serve_until(FakeShadowService& svc, const std::function<bool()>& done) {
        return h.run_until([&] {
            svc.serve();
            return done();
        });
    }
    // serve_until() the processor has had `n` updates accepted.
    bool serve_until_accepted(FakeShadowService& svc, uint64_t n) {
        return serve_until(svc, [&] { return counter("accepted") >= n; });
    }
    double gauge(const std::string& name) {
        for (const auto& m : h.gateway().metrics().snapshot())
            if (m.name == name && !m.is_counter) return m.value;
        return -1;
    }

    // Connected, the GET answered with `state_json` at `version`.
    void synced_at(int64_t version, const std::string& state_json) {
        ASSERT_TRUE(doubles::link_state("cloud", true));
        ASSERT_TRUE(wait_sent("get", 1)) << h.log().joined();
        ASSERT_TRUE(deliver("get/accepted", R"({"state":)" + state_json + R"(,"metadata":{},"version":)" +
                                                std::to_string(version) +
                                                R"(,"timestamp":1,"clientToken":")" + last_token("get") +
                                                "\"}"));
    }
};

TEST_F(ShadowSync, EveryStateChangeIsReportedWithItsOwnClientTokenAndTheVersionHeld) {
    ASSERT_EQ(start(), "");
    ASSERT_TRUE(status("idle"));
    // Passed on unchanged, and nothing sent while the link is down.
    ASSERT_EQ(doubles::seen_on(kStatus).size(), 1u);
    EXPECT_TRUE(sent("update").empty());

    ASSERT_TRUE(doubles::link_state("cloud", true));
    ASSERT_TRUE(wait_sent("get", 1));
    const std::string get_token = last_token("get");
    EXPECT_EQ(doubles::seen_on(topic("get")).front().payload, R"({"clientToken":")" + get_token + "\"}");
    EXPECT_TRUE(has(get_token, "shadow-")) << get_token;
    EXPECT_EQ(doubles::seen_on(topic("get")).front().qos, 1);

    ASSERT_TRUE(
        deliver("get/accepted", R"({"state":{"reported":{"state":"moving","battery":80}},"metadata":{},)"
                                R"("version":4,"timestamp":1,"clientToken":")" +
                                    get_token + "\"}"));
    ASSERT_TRUE(wait_sent("update", 1)) << h.log().joined();
    auto first = sent("update");
    EXPECT_EQ(plugins::shadow::to_json(first[0]["state"]),
              R"({"reported":{"state":"idle","command_id":null,"error":null}})");
    EXPECT_EQ(first[0]["version"].GetInt64(), 4);
    const std::string update_token = str(first[0], "clientToken");
    EXPECT_NE(update_token, get_token);

    ASSERT_TRUE(
        deliver("update/accepted", R"({"state":{"reported":{"state":"idle","command_id":null,"error":null}},)"
                                   R"("metadata":{},"version":5,"timestamp":1,"clientToken":")" +
                                       update_token + "\"}"));
    EXPECT_EQ(counter("accepted"), 1u);
    EXPECT_TRUE(h.log().contains("reported state 'idle' accepted at version 5, ")) << h.log().joined();

    ASSERT_TRUE(status("moving", R"(,"command_id":"c1")"));
    auto all = sent("update");
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(plugins::shadow::to_json(all[1]["state"]),
              R"({"reported":{"state":"moving","command_id":"c1","error":null}})");
    EXPECT_EQ(all[1]["version"].GetInt64(), 5);
    EXPECT_NE(str(all[1], "clientToken"), update_token);

    // The same state again is no change: nothing is sent.
    ASSERT_TRUE(deliver("update/accepted",
                        R"({"state":{"reported":{"state":"moving","command_id":"c1","error":null}},)"
                        R"("version":6,"clientToken":")" +
                            str(all[1], "clientToken") + "\"}"));
    ASSERT_TRUE(status("moving", R"(,"command_id":"c1")"));
    EXPECT_EQ(sent("update").size(), 2u);
}

TEST_F(ShadowSync, RepliesAreMatchedByClientToken) {
    ASSERT_EQ(start(), "");
    ASSERT_TRUE(status("idle"));
    ASSERT_TRUE(doubles::link_state("cloud", true));
    ASSERT_TRUE(wait_sent("get", 1));
    // Another client's GET reply is not ours: still waiting for our own.
    ASSERT_TRUE(deliver("get/accepted", R"({"state":{},"version":9,"clientToken":"console-1"})"));
    ASSERT_TRUE(deliver("get/accepted", R"({"state":{},"version":9})"));
    ASSERT_TRUE(deliver("get/rejected", R"({"code":404,"message":"No shadow","clientToken":"console-1"})"));
    EXPECT_TRUE(sent("update").empty());
    ASSERT_TRUE(
        deliver("get/accepted", R"({"state":{},"version":3,"clientToken":")" + last_token("get") + "\"}"));
    ASSERT_EQ(sent("update").size(), 1u);
    EXPECT_EQ(sent("update")[0]["version"].GetInt64(), 3);

    // Another client's 409 does not touch our update; ours is still awaited.
    ASSERT_TRUE(
        deliver("update/rejected", R"({"code":409,"message":"Version conflict","clientToken":"console-1"})"));
    EXPECT_EQ(counter("conflicts"), 0u);
    h.run_for(std::chrono::milliseconds(100));
    EXPECT_EQ(sent("get").size(), 1u);
    ASSERT_TRUE(
        deliver("update/accepted", R"({"state":{"reported":{"state":"idle","command_id":null,"error":null}},)"
                                   R"("version":4,"clientToken":")" +
                                       last_token("update") + "\"}"));
    EXPECT_EQ(counter("accepted"), 1u);
}

TEST_F(ShadowSync, OnlyNewerVersionsAreAppliedAndAGapResyncs) {
    ASSERT_EQ(start(), "");
    ASSERT_TRUE(status("idle"));
    synced_at(10, R"({"reported":{"state":"idle"}})");
    EXPECT_TRUE(sent("update").empty());  // the shadow already says idle

    // Another writer's update, version 11: applied. Its update/documents carries 11 again.
    ASSERT_TRUE(deliver("update/accepted",
                        R"({"state":{"reported":{"battery":80}},"version":11,"clientToken":"w"})"));
    ASSERT_TRUE(deliver("update/documents",
                        R"({"previous":null,"current":{"state":{"reported":{"state":"idle","battery":80}},)"
                        R"("version":11},"timestamp":1,"clientToken":"w"})"));
    EXPECT_EQ(counter("stale"), 0u);
    EXPECT_EQ(gauge("shadow.version"), 11.0);

    // Older versions, a delta asking for a move among them: ignored, no call made.
    ASSERT_TRUE(
        deliver("update/delta", R"({"version":9,"timestamp":1,"state":{"state":"moving"},"metadata":{}})"));
    ASSERT_TRUE(deliver("update/accepted",
                        R"({"state":{"desired":{"state":"moving"}},"version":8,"clientToken":"w"})"));
    EXPECT_EQ(counter("stale"), 2u);
    EXPECT_TRUE(h.log().contains("stale update/delta of version 9 ignored: version 11 is already applied"))
        << h.log().joined();
    EXPECT_TRUE(doubles::seen_on(kCall).empty());
    EXPECT_TRUE(sent("update").empty());
    EXPECT_EQ(sent("get").size(), 1u);

    // Version 13 after 11: 12 was missed, a GET resyncs.
    ASSERT_TRUE(
        deliver("update/delta", R"({"version":13,"timestamp":1,"state":{"state":"idle"},"metadata":{}})"));
    EXPECT_EQ(counter("gaps"), 1u);
    ASSERT_EQ(sent("get").size(), 2u);
    EXPECT_TRUE(h.log().contains("update/delta of version 13 after version 11: a version was missed"));
    // The GET's document (13) makes the held delta (13) no news; its desired "idle" is met.
    ASSERT_TRUE(deliver("get/accepted",
                        R"({"state":{"desired":{"state":"idle"},"reported":{"state":"idle"}},)"
                        R"("metadata":{"desired":{"state":{"timestamp":5}}},"version":13,"clientToken":")" +
                            last_token("get") + "\"}"));
    ASSERT_EQ(sent("update").size(), 1u);
    EXPECT_EQ(
        plugins::shadow::to_json(sent("update")[0]["state"]),
        R"({"reported":{"desired_result":{"version":13,"result":"accepted","detail":"the AMR is idle"}},)"
        R"("desired":{"state":null}})");
    EXPECT_EQ(sent("update")[0]["version"].GetInt64(), 13);
}

TEST_F(ShadowSync, ADeltaHeldDuringAResyncIsDroppedWhenTheGetIsNewer) {
    ASSERT_EQ(start(), "");
    ASSERT_TRUE(status("idle"));
    ASSERT_TRUE(doubles::link_state("cloud", true));
    ASSERT_TRUE(wait_sent("get", 1));
    // Queued for the persistent session while the gateway was away: older than what GET returns.
    ASSERT_TRUE(
        deliver("update/delta", R"({"version":7,"timestamp":1,"state":{"state":"moving"},"metadata":{}})"));
    ASSERT_TRUE(deliver(
        "get/accepted",
        R"({"state":{"reported":{"state":"idle"}},"version":8,"clientToken":")" + last_token("get") + "\"}"));
    EXPECT_EQ(counter("stale"), 1u);
    EXPECT_TRUE(h.log().contains("stale update/delta of version 7 ignored: version 8 is already applied"));
    EXPECT_TRUE(doubles::seen_on(kCall).empty());
    EXPECT_TRUE(sent("update").empty());
}

TEST_F(ShadowSync, ADeltaHeldDuringAResyncIsAppliedWhenItIsTheNextVersion) {
    ASSERT_EQ(start(), "");
    ASSERT_TRUE(status("idle"));
    ASSERT_TRUE(doubles::link_state("cloud", true));
    ASSERT_TRUE(wait_sent("get", 1));
    ASSERT_TRUE(deliver(
        "update/delta",
        R"({"version":9,"timestamp":1,"state":{"state":"moving"},"metadata":{"state":{"timestamp":1}}})"));
    ASSERT_TRUE(deliver(
        "get/accepted",
        R"({"state":{"reported":{"state":"idle"}},"version":8,"clientToken":")" + last_token("get") + "\"}"));
    EXPECT_EQ(counter("stale"), 0u);
    ASSERT_EQ(doubles::seen_on(kCall).size(), 1u) << h.log().joined();
    EXPECT_EQ(counter("desired_calls"), 1u);
}

TEST_F(ShadowSync, AVersionConflictGetsMergesAndRetries) {
    ASSERT_EQ(start(), "");
    ASSERT_TRUE(status("idle"));
    synced_at(5, "{}");
    ASSERT_EQ(sent("update").size(), 1u);
    EXPECT_EQ(sent("update")[0]["version"].GetInt64(), 5);
    // Another writer gets in first; the update already out names version 5 and meets a 409.
    FakeShadowService svc;
    svc.version = 5;
    svc.exists = true;
    svc.skip_sent();
    svc.write_as_other(R"({"reported":{"battery":80}})");
    ASSERT_TRUE(deliver("update/rejected",
                        R"({"code":409,"message":"Version conflict","timestamp":1,"clientToken":")" +
                            last_token("update") + "\"}"));
    EXPECT_EQ(counter("conflicts"), 1u);
    EXPECT_EQ(counter("rejected"), 0u);
    EXPECT_TRUE(
        h.log().contains("update refused with 409 (Version conflict): another writer changed the shadow; "
                         "GET, merge and retry in"))
        << h.log().joined();
    // After the backoff: GET, merge, retry against version 6.
    ASSERT_TRUE(serve_until_accepted(svc, 1)) << h.log().joined();
    EXPECT_EQ(sent("get").size(), 2u);
    const auto updates = sent("update");
    ASSERT_EQ(updates.size(), 2u);
    EXPECT_EQ(updates[1]["version"].GetInt64(), 6);
    // Merged: the other writer's key stays, ours is added.
    EXPECT_EQ(svc.state_json(), R"({"reported":{"battery":80,"state":"idle"}})");
    EXPECT_EQ(svc.version, 7);
}

TEST_F(ShadowSync, OtherRejectionsAreLoggedWithCodeAndMessageCountedAndResynced) {
    ASSERT_EQ(start(), "");
    ASSERT_TRUE(status("idle"));
    synced_at(5, "{}");
    ASSERT_EQ(sent("update").size(), 1u);
    ASSERT_TRUE(
        deliver("update/rejected", R"({"code":400,"message":"Invalid JSON","timestamp":1,"clientToken":")" +
                                       last_token("update") + "\"}"));
    EXPECT_EQ(counter("rejected"), 1u);
    EXPECT_EQ(counter("rejected_400"), 1u);
    EXPECT_TRUE(
        h.log().contains("update of $aws/things/AMR-001/shadow/name/robot rejected: 400 Invalid JSON"))
        << h.log().joined();
    ASSERT_TRUE(wait_sent("get", 2));
    // The same document is not sent again: the service called it invalid.
    ASSERT_TRUE(
        deliver("get/accepted", R"({"state":{},"version":5,"clientToken":")" + last_token("get") + "\"}"));
    EXPECT_EQ(sent("update").size(), 1u);
    // A new state is a new document.
    ASSERT_TRUE(status("moving", R"(,"command_id":"c2")"));
    ASSERT_EQ(sent("update").size(), 2u);

    // A server error is retried with the same document after a GET.
    ASSERT_TRUE(
        deliver("update/rejected", R"({"code":500,"message":"Internal service failure","clientToken":")" +
                                       last_token("update") + "\"}"));
    EXPECT_EQ(counter("rejected_500"), 1u);
    ASSERT_TRUE(wait_sent("get", 3));
    ASSERT_TRUE(
        deliver("get/accepted", R"({"state":{},"version":5,"clientToken":")" + last_token("get") + "\"}"));
    ASSERT_EQ(sent("update").size(), 3u);
    EXPECT_EQ(plugins::shadow::to_json(sent("update")[2]["state"]),
              plugins::shadow::to_json(sent("update")[1]["state"]));

    // A code outside the documented list is counted too.
    ASSERT_TRUE(deliver("update/rejected",
                        R"({"code":418,"message":"teapot","clientToken":")" + last_token("update") + "\"}"));
    EXPECT_EQ(counter("rejected_other"), 1u);
    EXPECT_EQ(counter("rejected"), 3u);
}

// The shadow service's per-thing request rate (AWS: 20 requests per second per thing) answers
// 429 "Too Many Requests" (the reply localcore sends: code, message, timestamp, clientToken). The
// gateway waits out at least the one-second window whatever retry_min says, then GETs and sends
// the same reported state again: nothing it had to report is dropped.
TEST_F(ShadowSync, A429IsWaitedOutForAtLeastASecondAndTheReportIsSentAgain) {
    ASSERT_EQ(start(), "");  // retry_min 20 ms
    ASSERT_TRUE(status("moving", R"(,"command_id":"c1")"));
    synced_at(5, "{}");
    ASSERT_EQ(sent("update").size(), 1u);
    const std::string first_state = plugins::shadow::to_json(sent("update")[0]["state"]);
    ASSERT_TRUE(deliver("update/rejected", R"({"code":429,"message":"Too Many Requests","timestamp":1,"clientToken":")" +
                                               last_token("update") + "\"}"));
    EXPECT_EQ(counter("rejected_429"), 1u);
    const auto lines = h.lines_with("the shadow service's request rate for this thing is exceeded");
    ASSERT_EQ(lines.size(), 1u) << h.log().joined();
    const auto at = lines[0].find("retry in ");
    ASSERT_NE(at, std::string::npos) << lines[0];
    EXPECT_GE(std::stoll(lines[0].substr(at + 9)), 1000) << lines[0];

    // The GET that follows meets the limit too: waited out the same way.
    ASSERT_TRUE(wait_sent("get", 2)) << h.log().joined();
    ASSERT_TRUE(deliver("get/rejected", R"({"code":429,"message":"Too Many Requests","timestamp":2,"clientToken":")" +
                                            last_token("get") + "\"}"));
    EXPECT_EQ(counter("rejected_429"), 2u);
    EXPECT_EQ(h.lines_with("the shadow service's request rate for this thing is exceeded").size(), 2u);

    // Then the service answers again: the same reported state is sent and accepted.
    FakeShadowService svc;
    svc.version = 5;
    svc.exists = true;
    svc.skip_sent();
    ASSERT_TRUE(h.run_until([&] {
        svc.serve();
        return counter("accepted") >= 1;
    }, std::chrono::seconds(8))) << h.log().joined();
    const auto updates = sent("update");
    ASSERT_EQ(updates.size(), 2u);
    EXPECT_EQ(plugins::shadow::to_json(updates[1]["state"]), first_state);
    EXPECT_EQ(svc.state_json(), R"({"reported":{"state":"moving","command_id":"c1"}})");
}

TEST_F(ShadowSync, ARequestWithoutAReplyTimesOutAndIsRetried) {
    ASSERT_EQ(start("request_timeout = \"100ms\""), "");
    ASSERT_TRUE(doubles::link_state("cloud", true));
    ASSERT_TRUE(wait_sent("get", 1));
    ASSERT_TRUE(wait_sent("get", 2)) << h.log().joined();
    EXPECT_GE(counter("timeouts"), 1u);
    EXPECT_TRUE(h.log().contains("no reply to the GET within 100 ms; GET, merge and retry in"));
    EXPECT_NE(sent("get")[0]["clientToken"].GetString(),
              std::string(sent("get")[1]["clientToken"].GetString()));
}

TEST_F(ShadowSync, AReconnectResyncsAndNothingIsSentWhileTheLinkIsDown) {
    ASSERT_EQ(start(), "");
    FakeShadowService svc;
    ASSERT_TRUE(status("idle"));
    ASSERT_TRUE(doubles::link_state("cloud", true));
    ASSERT_TRUE(serve_until_accepted(svc, 1)) << h.log().joined();
    EXPECT_EQ(svc.version, 1);

    ASSERT_TRUE(doubles::link_state("cloud", false));
    ASSERT_TRUE(status("moving", R"(,"command_id":"c3")"));
    EXPECT_EQ(sent("update").size(), 1u);
    // Meanwhile someone else wrote: the version moved on while the gateway was away.
    svc.write_as_other(R"({"reported":{"battery":40}})");
    ASSERT_TRUE(doubles::link_state("cloud", true));
    ASSERT_TRUE(serve_until_accepted(svc, 2)) << h.log().joined();
    EXPECT_EQ(sent("get").size(), 3u);  // created (a GET confirms it), then the reconnect's
    EXPECT_EQ(sent("update")[1]["version"].GetInt64(), 2);
    EXPECT_EQ(svc.state_json(), R"({"reported":{"state":"moving","battery":40,"command_id":"c3"}})");
    EXPECT_EQ(counter("conflicts"), 0u);
}

TEST_F(ShadowSync, AMissingShadowIsCreatedAndADeletedOneIsCreatedAgain) {
    ASSERT_EQ(start(), "");
    FakeShadowService svc;  // no shadow yet: GET -> 404
    ASSERT_TRUE(status("idle"));
    ASSERT_TRUE(doubles::link_state("cloud", true));
    ASSERT_TRUE(serve_until_accepted(svc, 1)) << h.log().joined();
    EXPECT_FALSE(sent("update")[0].HasMember("version"));  // nothing to lock against
    // Created at version 1 while nothing was held: one more GET confirms the document.
    ASSERT_TRUE(serve_until(svc, [&] { return sent("get").size() >= 2; }));
    EXPECT_EQ(counter("rejected"), 0u);

    svc.remove_shadow();
    EXPECT_TRUE(h.log().contains("was deleted at version 1: reporting the AMR's state again re-creates it"));
    ASSERT_TRUE(serve_until_accepted(svc, 2)) << h.log().joined();
    EXPECT_FALSE(sent("update")[1].HasMember("version"));
    EXPECT_EQ(svc.state_json(), R"({"reported":{"state":"idle"}})");
    EXPECT_EQ(svc.version, 2);  // numbering continues across the delete
}

TEST_F(ShadowSync, ADocumentOverTheLimitIsNotBuilt) {
    ASSERT_EQ(start("max_state_bytes = 256"), "");
    ASSERT_TRUE(status("idle", R"(,"error":")" + std::string(300, 'e') + "\""));
    synced_at(3, "{}");
    EXPECT_TRUE(sent("update").empty());
    EXPECT_EQ(counter("too_large"), 1u);
    EXPECT_TRUE(h.log().contains("shadow update not built: desired + reported would be")) << h.log().joined();
    EXPECT_TRUE(h.log().contains("over the limit of 256 bytes"));
    // A state that fits is reported.
    ASSERT_TRUE(status("idle", R"(,"error":"short")"));
    ASSERT_EQ(sent("update").size(), 1u);
    // What others already put in the shadow counts too.
    ASSERT_TRUE(
        deliver("update/accepted", R"({"state":{"reported":{"state":"idle","error":"short"}},"version":4,)"
                                   R"("clientToken":")" +
                                       last_token("update") + "\"}"));
    ASSERT_TRUE(deliver("update/accepted", R"({"state":{"reported":{"note":")" + std::string(240, 'n') +
                                               R"("}},"version":5,"clientToken":"w"})"));
    ASSERT_TRUE(status("moving"));
    EXPECT_EQ(counter("too_large"), 2u);
    EXPECT_EQ(sent("update").size(), 1u);
}

TEST_F(ShadowSync, MalformedRepliesAndStatusesAreCountedAndChangeNothing) {
    ASSERT_EQ(start(), "");
    ASSERT_TRUE(status("idle"));
    synced_at(5, R"({"reported":{"state":"idle"}})");
    const char* bad[][2] = {
        {"update/delta", "not json"},
        {"get/accepted", "[1]"},
        {"update/delta", R"({"version":"7","state":{}})"},
        {"update/delta", R"({"version":6})"},
        {"update/delta", R"({"version":-6,"state":{}})"},
        {"update/documents", R"({"current":{}})"},
        {"update/rejected", R"({"code":"409"})"},
        {"update/accepted", R"({"version":6,"state":{"desired":5}})"},
        {"update/delta", "{\"version\":6,\"state\":{\"s\":\"\xff\"}}"},
    };
    for (const auto& [sub, payload] : bad) ASSERT_TRUE(deliver(sub, payload)) << sub;
    EXPECT_EQ(counter("malformed"), std::size(bad));
    EXPECT_TRUE(h.log().contains(
        "update/delta of $aws/things/AMR-001/shadow/name/robot is malformed, ignored: not JSON"))
        << h.log().joined();
    EXPECT_TRUE(h.log().contains("is malformed, ignored: \"version\" is not a non-negative integer"));
    EXPECT_TRUE(h.log().contains("is malformed, ignored: \"state.desired\" is neither an object nor null"));
    EXPECT_EQ(gauge("shadow.version"), 5.0);
    EXPECT_TRUE(doubles::seen_on(kCall).empty());

    // A status that is not one passes on unreported.
    ASSERT_TRUE(doubles::feed("feed", kStatus, "{\"seq\":2}"));
    EXPECT_EQ(doubles::seen_on(kStatus).size(), 2u);
    EXPECT_EQ(counter("malformed"), std::size(bad) + 1);

    // A malformed reply to our own GET fails it: a new GET follows.
    ASSERT_TRUE(doubles::link_state("cloud", true));
    ASSERT_TRUE(wait_sent("get", 2));
    ASSERT_TRUE(
        deliver("get/accepted", R"({"state":7,"version":1,"clientToken":")" + last_token("get") + "\"}"));
    ASSERT_TRUE(wait_sent("get", 3)) << h.log().joined();

    // And a good document is still taken.
    ASSERT_TRUE(deliver(
        "get/accepted",
        R"({"state":{"reported":{"state":"idle"}},"version":6,"clientToken":")" + last_token("get") + "\"}"));
    EXPECT_EQ(gauge("shadow.version"), 6.0);
}

TEST_F(ShadowSync, OtherMessagesPassUnchanged) {
    ASSERT_EQ(start(), "");
    ASSERT_TRUE(doubles::feed("feed", "amr/AMR-001/telemetry", "t1", 0, false));
    ASSERT_TRUE(
        doubles::feed("feed", "amr/AMR-001/cmd/result", R"({"id":"x","result":"accepted"})", 1, false));
    const auto all = doubles::seen();
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].payload, "t1");
    EXPECT_EQ(all[0].qos, 0);
    EXPECT_EQ(all[1].topic, "amr/AMR-001/cmd/result");
    // A reply of another shadow means a mismatched filter: warned about, not passed on.
    ASSERT_TRUE(doubles::feed("feed", "$aws/things/AMR-001/shadow/name/other/get/accepted", "{}"));
    EXPECT_EQ(doubles::seen().size(), 2u);
    EXPECT_TRUE(
        h.log().contains("the replies pipeline's filter and 'shadow_name' must name the same shadow"));
}

TEST_F(ShadowSync, TheClassicShadowIsKeptWithAnEmptyName) {
    ASSERT_EQ(h.start(config("shadow_name = \"\"", "$aws/things/${thing}/shadow/+/+")), "");
    ASSERT_TRUE(status("idle"));
    ASSERT_TRUE(doubles::link_state("cloud", true));
    const auto gets = doubles::seen_on("$aws/things/AMR-001/shadow/get");
    ASSERT_EQ(gets.size(), 1u) << h.log().joined();
    const std::string token = str(parse(gets[0].payload), "clientToken");
    ASSERT_TRUE(doubles::link_receive("cloud", "$aws/things/AMR-001/shadow/+/+",
                                      "$aws/things/AMR-001/shadow/get/accepted",
                                      R"({"state":{},"version":2,"clientToken":")" + token + "\"}"));
    ASSERT_EQ(doubles::seen_on("$aws/things/AMR-001/shadow/update").size(), 1u) << h.log().joined();
}

TEST_F(ShadowSync, ConfigMistakesAreReportedBeforeStart) {
    EXPECT_TRUE(has(start("shadow_name = \"a/b\""), "'shadow_name' is 'a/b'"));
    DoublesHarness h2;
    const std::string errors = h2.dry_run(config("retry_min = \"2s\"\nretry_max = \"1s\""));
    EXPECT_TRUE(has(errors, "'retry_min' (2000 ms) is larger than 'retry_max' (1000 ms)")) << errors;
}

}  // namespace
}  // namespace iotgw::test
