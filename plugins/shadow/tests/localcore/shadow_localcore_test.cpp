// The shadow plugin end to end: the real `iotgw` binary against localcore (mosquitto + the
// localcore plugin serving the Device Shadow), with independent MQTT clients as the operator
// console and as another shadow writer. Waits are bounded polls.
#include "config_text.hpp"
#include "localcore_fixture.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <thread>

namespace localcore::conformance {
namespace {

using iotgw::test::ConfigText;
using iotgw::test::now_ms;
using iotgw::test::read_text_file;
using iotgw::test::TestMqttClient;
using testing::HasSubstr;

constexpr const char* kShadow = "$aws/things/AMR-001/shadow/name/robot";
constexpr const char* kCall = "amr/AMR-001/cmd/call";

std::string shadow_topic(const std::string& sub) { return std::string(kShadow) + "/" + sub; }

std::string call(const std::string& id) {
    return R"({"id":")" + id + R"(","ts":)" + std::to_string(now_ms()) + "}";
}

// A writer allowed everything on AMR-001's shadow and topics: "another client" of the shadow.
const char* const kWriterPolicy = R"({
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": ["iot:Connect"], "Resource": ["arn:aws:iot:*:*:client/writer-*"]},
    {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"],
     "Resource": ["arn:aws:iot:*:*:topic/$aws/things/AMR-001/shadow/*", "arn:aws:iot:*:*:topic/amr/AMR-001/*"]},
    {"Effect": "Allow", "Action": ["iot:Subscribe"],
     "Resource": ["arn:aws:iot:*:*:topicfilter/$aws/things/AMR-001/shadow/*",
                  "arn:aws:iot:*:*:topicfilter/amr/AMR-001/*"]}
  ]
})";

struct GatewayOptions {
    std::string move_time = "300ms";
    std::string log_level = "info";
    std::string retry_min = "50ms";

    static GatewayOptions moving_for(std::string t) {
        GatewayOptions o;
        o.move_time = std::move(t);
        return o;
    }
};

class ShadowLocalCore : public LocalCoreTest {
protected:
    void SetUp() override {
        LocalCoreTest::SetUp();
        // The deployed console policy (cloud/policies/console.json) and a shadow writer.
        lc->put_policy("operator-console",
                       read_text_file(fs::path(IOTGW_SOURCE_DIR) / "cloud/policies/console.json"));
        console_id_ = lc->issue_claim_cert("operator-console", "console");
        lc->put_policy("shadow-writer", kWriterPolicy);
        writer_id_ = lc->issue_claim_cert("shadow-writer", "writer");
    }

    void TearDown() override {
        if (!::testing::Test::HasFailure()) return;
        if (!previous_logs_.empty()) std::cerr << "--- earlier gateway runs:\n" << previous_logs_ << "\n";
        if (gw_) std::cerr << "--- gateway log:\n" << gw_->log() << "\n";
    }

    fs::path write_config(const GatewayOptions& o) {
        const std::string toml =
            ConfigText()
                .raw("log_level = \"" + o.log_level + "\"\nstop_timeout = \"2s\"")
                .device_link(lc->amr1.cert, lc->amr1.key, lc->ca(), lc->port(), "mqtt_version = \"5\"")
                .processor("amr", "amr_call", "move_time = \"" + o.move_time + "\"")
                .processor("status", "status", "connection = \"cloud\"")
                .processor("shadow", "shadow",
                           "connection = \"cloud\"\nretry_min = \"" + o.retry_min +
                               "\"\nretry_max = \"3s\"\nrequest_timeout = \"5s\"")
                .pipeline("call", "cloud:amr/${thing}/cmd/call", {"cloud"}, {"amr", "status", "shadow"})
                // The replies as configs/local.toml subscribes to them: accepted, rejected and the
                // delta, not update/documents (each of its deliveries is metered, and update/accepted
                // carries the same change), so these tests show the plugin needs no documents.
                .pipeline("shadow", "cloud:$aws/things/${thing}/shadow/name/robot/+/accepted", {"shadow"})
                .pipeline("shadow-rejected", "cloud:$aws/things/${thing}/shadow/name/robot/+/rejected",
                          {"shadow"})
                .pipeline("shadow-delta", "cloud:$aws/things/${thing}/shadow/name/robot/update/delta",
                          {"shadow"});
        const fs::path file = lc->fresh_path("gateway") += ".toml";
        std::ofstream(file) << toml;
        return file;
    }

    ChildProcess& start_gateway(const GatewayOptions& o = {}) {
        const fs::path config = write_config(o);
        gw_ = std::make_unique<ChildProcess>(
            std::vector<std::string>{IOTGW_BINARY, "run", "--config", config.string(), "--plugin-dir",
                                     IOTGW_BUILD_PLUGIN_DIR},
            lc->fresh_path("gateway") += ".log");
        return *gw_;
    }

    void stop_gateway() {
        if (!gw_) return;
        gw_->signal(SIGTERM);
        EXPECT_EQ(gw_->wait_exit(10s), 0) << gw_->log();
        previous_logs_ += gw_->log();
        gw_.reset();
    }

    // The operator console: the real console policy; sees AMR-001's topics and its shadow.
    std::unique_ptr<TestMqttClient> console(const std::string& id = "console-1") {
        auto c = lc->connect(console_id_, id, Mqtt::v5);
        if (!c) return nullptr;
        c->subscribe("amr/AMR-001/#", 1);
        c->subscribe(shadow_topic("#"), 1);
        return c;
    }
    std::unique_ptr<TestMqttClient> writer(const std::string& id = "writer-1") {
        auto c = lc->connect(writer_id_, id, Mqtt::v5);
        if (!c) return nullptr;
        c->subscribe(shadow_topic("+/+"), 1);
        return c;
    }

    // The console's GET: the whole document, or Null when there is no shadow.
    rapidjson::Document get_shadow(TestMqttClient& c) {
        const std::string token = "console-get-" + std::to_string(++gets_);
        c.publish(shadow_topic("get"), R"({"clientToken":")" + token + "\"}", 1);
        auto reply = c.wait_for(
            [&](const TestMqttClient::Received& r) {
                return (r.topic == shadow_topic("get/accepted") || r.topic == shadow_topic("get/rejected")) &&
                       r.payload.find(token) != std::string::npos;
            },
            10s);
        if (!reply) {
            ADD_FAILURE() << "no reply to the console's GET";
            return rapidjson::Document();
        }
        if (reply->topic == shadow_topic("get/rejected")) return rapidjson::Document();
        return parse_json(reply->payload);
    }

    // A write by the other client; returns the accepted version, or -1 when rejected.
    int64_t write(TestMqttClient& w, const std::string& state_json) {
        const std::string token = "writer-" + std::to_string(++writes_);
        w.publish(shadow_topic("update"), R"({"state":)" + state_json + R"(,"clientToken":")" + token + "\"}",
                  1);
        auto reply = w.wait_for(
            [&](const TestMqttClient::Received& r) {
                return (r.topic == shadow_topic("update/accepted") ||
                        r.topic == shadow_topic("update/rejected")) &&
                       r.payload.find("\"" + token + "\"") != std::string::npos;
            },
            10s);
        if (!reply) {
            ADD_FAILURE() << "no reply to the writer's update " << state_json;
            return -1;
        }
        if (reply->topic == shadow_topic("update/rejected")) return -1;
        return json_int(parse_json(reply->payload), {"version"}).value_or(-1);
    }

    // An update/accepted of the gateway's own (clientToken from the shadow instance) whose
    // reported state is `state` (and command id `id`, if given).
    static bool gateway_reported(const TestMqttClient::Received& r, const std::string& state,
                                 const std::string& id = "") {
        if (r.topic != shadow_topic("update/accepted")) return false;
        if (r.payload.find(R"("clientToken":"shadow-)") == std::string::npos) return false;
        if (r.payload.find(R"("state":")" + state + "\"") == std::string::npos) return false;
        return id.empty() || r.payload.find(R"("command_id":")" + id + "\"") != std::string::npos;
    }

    static std::optional<int64_t> json_int(const rapidjson::Value& v,
                                           std::initializer_list<const char*> path) {
        const rapidjson::Value* at = &v;
        for (const char* m : path) {
            if (!at->IsObject() || !at->HasMember(m)) return std::nullopt;
            at = &(*at)[m];
        }
        if (!at->IsInt64()) return std::nullopt;
        return at->GetInt64();
    }
    static std::string json_at(const rapidjson::Value& v, std::initializer_list<const char*> path) {
        const rapidjson::Value* at = &v;
        for (const char* m : path) {
            if (!at->IsObject() || !at->HasMember(m)) return "<none>";
            at = &(*at)[m];
        }
        rapidjson::StringBuffer b;
        rapidjson::Writer<rapidjson::StringBuffer> w(b);
        at->Accept(w);
        return b.GetString();
    }

    // The gateway's counter `name` as it logs it on SIGUSR1.
    int64_t gateway_counter(const std::string& name) {
        const std::string needle = "shadow." + name + " = ";
        const std::size_t before = gw_->count(needle);
        gw_->signal(SIGUSR1);
        if (!gw_->wait_for(needle, 5s, before + 1)) return -1;
        const std::string log = gw_->log();
        const auto at = log.rfind(needle);
        return std::stoll(log.substr(at + needle.size()));
    }

    Identity console_id_, writer_id_;
    std::unique_ptr<ChildProcess> gw_;
    std::string previous_logs_;
    int gets_ = 0;
    int writes_ = 0;
};

TEST_F(ShadowLocalCore, EveryStateChangeOfACallIsReportedAndAccepted) {
    auto c = console();
    ASSERT_TRUE(c);
    auto& gw = start_gateway();
    ASSERT_TRUE(c->wait_for([](const auto& r) { return gateway_reported(r, "idle"); }, 15s)) << gw.log();
    c->clear();
    c->publish(kCall, call("call-1"), 1);
    ASSERT_TRUE(c->wait_for([](const auto& r) { return gateway_reported(r, "moving", "call-1"); }, 10s))
        << gw.log();
    ASSERT_TRUE(c->wait_for([](const auto& r) { return gateway_reported(r, "idle", "call-1"); }, 10s))
        << gw.log();
    // In order, each at the next version.
    std::vector<int64_t> versions;
    for (const auto& r : c->received())
        if (gateway_reported(r, "moving") || gateway_reported(r, "idle"))
            versions.push_back(json_int(parse_json(r.payload), {"version"}).value_or(-1));
    ASSERT_EQ(versions.size(), 2u);
    EXPECT_EQ(versions[1], versions[0] + 1);

    auto doc = get_shadow(*c);
    EXPECT_EQ(json_at(doc, {"state", "reported", "state"}), "\"idle\"");
    EXPECT_EQ(json_at(doc, {"state", "reported", "command_id"}), "\"call-1\"");
    EXPECT_EQ(json_int(doc, {"version"}), versions[1]);
    EXPECT_TRUE(gw.wait_for("reported state 'idle' accepted at version " + std::to_string(versions[1])));
}

TEST_F(ShadowLocalCore, RestartingTheGatewayOrTheBrokerResyncsWithAGet) {
    auto c = console();
    ASSERT_TRUE(c);
    start_gateway(GatewayOptions::moving_for("2s"));
    ASSERT_TRUE(c->wait_for([](const auto& r) { return gateway_reported(r, "idle"); }, 15s)) << gw_->log();
    c->publish(kCall, call("call-1"), 1);
    ASSERT_TRUE(c->wait_for([](const auto& r) { return gateway_reported(r, "moving", "call-1"); }, 10s));
    ASSERT_TRUE(c->wait_for([](const auto& r) { return gateway_reported(r, "idle", "call-1"); }, 10s));

    // The gateway stops; someone else writes meanwhile; the new gateway starts from a GET.
    stop_gateway();
    auto w = writer();
    ASSERT_TRUE(w);
    const int64_t written = write(*w, R"({"reported":{"battery":81}})");
    ASSERT_GT(written, 0);
    start_gateway(GatewayOptions::moving_for("2s"));
    ASSERT_TRUE(gw_->wait_for("in sync at version " + std::to_string(written), 15s)) << gw_->log();
    EXPECT_THAT(gw_->log(), HasSubstr("'cloud' connected: GET " + shadow_topic("get")));
    // A fresh gateway has no command id yet: its state differs from the shadow's and is reported.
    ASSERT_TRUE(
        gw_->wait_for("reported state 'idle' accepted at version " + std::to_string(written + 1), 10s))
        << gw_->log();

    // The broker restarts in the middle of a move: the move ends while the link is down, and the
    // idle state reaches the shadow after the reconnect's GET.
    c->clear();
    c->publish(kCall, call("call-2"), 1);
    ASSERT_TRUE(c->wait_for([](const auto& r) { return gateway_reported(r, "moving", "call-2"); }, 10s))
        << gw_->log();
    const std::size_t syncs = gw_->count("in sync at version");
    c.reset();
    w.reset();
    lc->stop_broker();
    ASSERT_TRUE(gw_->wait_for("call 'call-2' done: idle", 10s)) << gw_->log();
    lc->start_broker();
    ASSERT_TRUE(gw_->wait_for("in sync at version", 20s, syncs + 1)) << gw_->log();
    ASSERT_TRUE(gw_->wait_for("reported state 'idle' accepted at version", 10s, 2)) << gw_->log();
    c = console("console-2");
    ASSERT_TRUE(c);
    auto doc = get_shadow(*c);
    EXPECT_EQ(json_at(doc, {"state", "reported", "state"}), "\"idle\"");
    EXPECT_EQ(json_at(doc, {"state", "reported", "command_id"}), "\"call-2\"");
    EXPECT_EQ(json_at(doc, {"state", "reported", "battery"}), "81");
}

// A delta that reaches the gateway while it resyncs and is older than the GET's document is not
// applied: desired "moving" was withdrawn in the next version, so no call may be made.
//
// The natural way to get one is a delta queued for the gateway's persistent session while it is
// away. localcore drops those (its iot:Receive check refuses every delivery to a client that is
// not connected, so nothing is queued for an offline session, unlike AWS IoT), so the resync
// window is opened another way: the shadow's file is made unreadable, the gateway's update gets
// a 500 and it waits (retry_min) before its GET; the delta arrives during that wait.
TEST_F(ShadowLocalCore, AStaleDeltaReceivedDuringAResyncIsIgnored) {
    auto c = console();
    ASSERT_TRUE(c);
    GatewayOptions o;
    o.retry_min = "3s";
    start_gateway(o);
    ASSERT_TRUE(c->wait_for([](const auto& r) { return gateway_reported(r, "idle"); }, 15s)) << gw_->log();

    const fs::path file = lc->data_dir() / "shadows" / "AMR-001" / "robot.json";
    const std::string good = read_text_file(file);
    std::ofstream(file, std::ios::trunc) << "{";
    c->publish(kCall, call("c1"), 1);
    ASSERT_TRUE(gw_->wait_for("rejected: 500 Internal service failure", 10s)) << gw_->log();
    std::ofstream(file, std::ios::trunc) << good;

    // While the gateway waits to resync: desired "moving" (a delta to the gateway), withdrawn.
    auto w = writer();
    ASSERT_TRUE(w);
    const int64_t asked = write(*w, R"({"desired":{"state":"moving"}})");
    ASSERT_GT(asked, 0);
    const int64_t withdrawn = write(*w, R"({"desired":{"state":null}})");
    ASSERT_EQ(withdrawn, asked + 1);

    // The GET after the wait returns the withdrawal's version; the delta held meanwhile is older.
    ASSERT_TRUE(gw_->wait_for("stale update/delta of version " + std::to_string(asked) +
                                  " ignored: version " + std::to_string(withdrawn) + " is already applied",
                              15s))
        << gw_->log();
    ASSERT_TRUE(c->wait_for([](const auto& r) { return gateway_reported(r, "idle", "c1"); }, 10s))
        << gw_->log();
    std::this_thread::sleep_for(300ms);
    for (const auto& r : c->received()) {
        if (r.topic != kCall) continue;
        EXPECT_THAT(r.payload, HasSubstr(R"("id":"c1")")) << "a call was made for desired";
    }
    EXPECT_THAT(gw_->log(), testing::Not(HasSubstr("desired state 'moving'")));
    EXPECT_EQ(gateway_counter("stale"), 1);
    EXPECT_EQ(gateway_counter("desired_calls"), 0);
}

TEST_F(ShadowLocalCore, AConcurrentWriterCausesAConflictThatIsMergedAndRetried) {
    auto c = console();
    ASSERT_TRUE(c);
    start_gateway(GatewayOptions::moving_for("20ms"));
    ASSERT_TRUE(c->wait_for([](const auto& r) { return gateway_reported(r, "idle"); }, 15s)) << gw_->log();

    // The other writer updates the shadow right behind each call: the call reaches the broker first
    // and the gateway answers it with an update at the version it knows, while the writer's update,
    // sent a moment after the call, has already moved the shadow on; the gateway's update is then
    // refused with 409. (A writer on its own clock hit that window only now and then.) One update
    // per call keeps both writers within AWS's 20 shadow requests per second per thing, which
    // localcore enforces; should one be throttled anyway (429), the writer sends the same value
    // again after a pause, as a well-behaved client does. `last` is the last value accepted.
    auto w = writer("writer-race");
    ASSERT_TRUE(w);
    int last = 0;
    for (int i = 0, rejected = 0; i < 30 && rejected < 50 && gw_->count("update refused with 409") == 0; ++i) {
        c->publish(kCall, call("race-" + std::to_string(i)), 1);
        while (write(*w, R"({"reported":{"counter":)" + std::to_string(last + 1) + "}}") <= 0 && ++rejected < 50)
            std::this_thread::sleep_for(200ms);
        if (rejected < 50) ++last;
        w->clear();
        std::this_thread::sleep_for(200ms);
    }
    ASSERT_GE(gw_->count("update refused with 409"), 1u) << "no conflict happened; " << gw_->log();
    EXPECT_THAT(gw_->log(), HasSubstr("another writer changed the shadow; GET, merge and retry in"));

    // Once the writer has stopped, the gateway's retry lands: both writers' keys are there, the
    // writer's with the last value it saw accepted.
    ASSERT_TRUE(gw_->wait_for("in sync at version", 10s, 2));
    const auto converged = [&] {
        auto doc = get_shadow(*c);
        return json_at(doc, {"state", "reported", "state"}) == "\"idle\"" &&
               json_at(doc, {"state", "reported", "counter"}) == std::to_string(last);
    };
    bool ok = false;
    for (int i = 0; i < 50 && !(ok = converged()); ++i) std::this_thread::sleep_for(100ms);
    EXPECT_TRUE(ok) << json_at(get_shadow(*c), {"state"}) << "\n" << gw_->log();
    EXPECT_GE(gateway_counter("conflicts"), 1);
    EXPECT_EQ(gateway_counter("rejected"), 0);
}

TEST_F(ShadowLocalCore, DesiredMovingCallsTheAmrAndIsClearedWhenApplied) {
    auto c = console();
    ASSERT_TRUE(c);
    start_gateway(GatewayOptions::moving_for("1s"));
    ASSERT_TRUE(c->wait_for([](const auto& r) { return gateway_reported(r, "idle"); }, 15s)) << gw_->log();
    c->clear();
    auto w = writer();
    ASSERT_TRUE(w);
    const int64_t asked = write(*w, R"({"desired":{"state":"moving"}})");
    ASSERT_GT(asked, 0);

    // A call on the call topic, answered like any call ...
    auto made = c->wait_for([](const auto& r) { return r.topic == kCall; }, 10s);
    ASSERT_TRUE(made) << gw_->log();
    const std::string id = json_string(parse_json(made->payload), "id");
    ASSERT_THAT(id, testing::StartsWith("shadow-"));
    auto result = c->wait_for(
        [&](const auto& r) {
            return r.topic == "amr/AMR-001/cmd/result" && r.payload.find(id) != std::string::npos;
        },
        10s);
    ASSERT_TRUE(result);
    EXPECT_THAT(result->payload, HasSubstr(R"("result":"accepted")"));
    // ... then moving reported with the handled desired key cleared with null, then idle.
    auto moving = c->wait_for([&](const auto& r) { return gateway_reported(r, "moving", id); }, 10s);
    ASSERT_TRUE(moving) << gw_->log();
    EXPECT_THAT(moving->payload, HasSubstr(R"("desired":{"state":null})"));
    EXPECT_THAT(moving->payload, HasSubstr(R"("result":"accepted")"));
    ASSERT_TRUE(c->wait_for([&](const auto& r) { return gateway_reported(r, "idle", id); }, 10s))
        << gw_->log();

    auto doc = get_shadow(*c);
    EXPECT_EQ(json_at(doc, {"state", "desired"}), "<none>");
    EXPECT_EQ(json_at(doc, {"state", "delta"}), "<none>");
    EXPECT_EQ(json_at(doc, {"state", "reported", "desired_result", "version"}), std::to_string(asked));
    EXPECT_EQ(json_at(doc, {"state", "reported", "desired_result", "result"}), "\"accepted\"");
    EXPECT_EQ(gateway_counter("desired_calls"), 1);
}

TEST_F(ShadowLocalCore, MalformedDocumentsAreRefusedLoggedAndTheGatewayStaysUp) {
    auto c = console();
    ASSERT_TRUE(c);
    start_gateway();
    ASSERT_TRUE(c->wait_for([](const auto& r) { return gateway_reported(r, "idle"); }, 15s)) << gw_->log();
    auto w = writer();
    ASSERT_TRUE(w);

    // Desired values the AMR cannot take: refused, reported, cleared, never applied.
    const std::pair<const char*, const char*> bad[] = {
        {R"({"desired":{"state":42}})", "desired.state must be a string, got a number"},
        {R"({"desired":{"state":"flying"}})",
         "desired.state 'flying' is not a state the AMR can be asked for"},
        {R"({"desired":{"bogus":{"a":{"b":[1,2]}}}})", "unknown desired key 'bogus'"},
    };
    for (const auto& [doc_json, why] : bad) {
        const int64_t v = write(*w, doc_json);
        ASSERT_GT(v, 0) << doc_json;
        ASSERT_TRUE(gw_->wait_for(why, 10s)) << gw_->log();
        bool cleared = false;
        for (int i = 0; i < 50 && !cleared; ++i) {
            auto doc = get_shadow(*c);
            cleared = json_at(doc, {"state", "desired"}) == "<none>" &&
                      json_at(doc, {"state", "reported", "desired_result", "version"}) == std::to_string(v);
            if (!cleared) std::this_thread::sleep_for(100ms);
        }
        ASSERT_TRUE(cleared) << doc_json << "\n" << gw_->log();
        auto doc = get_shadow(*c);
        EXPECT_EQ(json_at(doc, {"state", "reported", "desired_result", "reason"}), "\"invalid_desired\"");
    }
    for (const auto& r : c->received()) EXPECT_NE(r.topic, kCall) << r.payload;

    // The shadow service's own document is corrupt on disk: every request fails with 500. The
    // gateway logs the code and message, backs off, and recovers when the file is repaired.
    const fs::path file = lc->data_dir() / "shadows" / "AMR-001" / "robot.json";
    ASSERT_TRUE(fs::exists(file)) << file;
    const std::string good = read_text_file(file);
    std::ofstream(file, std::ios::trunc) << "{\"format_version\":1,\"version\":";
    c->publish(kCall, call("during-corruption"), 1);
    ASSERT_TRUE(gw_->wait_for("rejected: 500 Internal service failure", 10s)) << gw_->log();
    std::this_thread::sleep_for(1500ms);  // a few retries against the broken file
    std::ofstream(file, std::ios::trunc) << good;
    ASSERT_TRUE(
        c->wait_for([](const auto& r) { return gateway_reported(r, "idle", "during-corruption"); }, 15s))
        << gw_->log();
    EXPECT_GE(gateway_counter("rejected_500"), 1);

    // Still fully working: a valid desired request is applied.
    c->clear();
    ASSERT_GT(write(*w, R"({"desired":{"state":"moving"}})"), 0);
    ASSERT_TRUE(c->wait_for([](const auto& r) { return gateway_reported(r, "moving"); }, 10s)) << gw_->log();
    EXPECT_EQ(gw_->count("desired state 'moving'"), 1u);
}

TEST_F(ShadowLocalCore, AShadowDeletedWhileTheGatewayRunsIsCreatedAgain) {
    auto c = console();
    ASSERT_TRUE(c);
    start_gateway();
    ASSERT_TRUE(c->wait_for([](const auto& r) { return gateway_reported(r, "idle"); }, 15s)) << gw_->log();
    auto before = get_shadow(*c);
    const int64_t version = json_int(before, {"version"}).value_or(-1);
    ASSERT_GT(version, 0);

    auto w = writer();
    ASSERT_TRUE(w);
    c->clear();
    w->publish(shadow_topic("delete"), R"({"clientToken":"writer-delete"})", 1);
    ASSERT_TRUE(w->wait_for([](const auto& r) { return r.topic == shadow_topic("delete/accepted"); }, 10s));
    ASSERT_TRUE(gw_->wait_for("was deleted at version " + std::to_string(version), 10s)) << gw_->log();
    // Re-created by the gateway's report; the numbering goes on.
    auto again = c->wait_for([](const auto& r) { return gateway_reported(r, "idle"); }, 10s);
    ASSERT_TRUE(again) << gw_->log();
    EXPECT_EQ(json_int(parse_json(again->payload), {"version"}), version + 1);
    auto doc = get_shadow(*c);
    EXPECT_EQ(json_at(doc, {"state", "reported", "state"}), "\"idle\"");

    // And it goes on working.
    c->publish(kCall, call("after-delete"), 1);
    ASSERT_TRUE(c->wait_for([](const auto& r) { return gateway_reported(r, "moving", "after-delete"); }, 10s))
        << gw_->log();
}

// The figure for the issue: time from a state change in the gateway to the shadow's
// update/accepted for it, over 200 calls (400 changes). Printed, never asserted.
TEST_F(ShadowLocalCore, BenchStateChangeToUpdateAccepted) {
    auto c = console();
    ASSERT_TRUE(c);
    start_gateway(GatewayOptions::moving_for("30ms"));
    ASSERT_TRUE(c->wait_for([](const auto& r) { return gateway_reported(r, "idle"); }, 15s)) << gw_->log();
    const std::regex line(
        "reported state '(moving|idle)' accepted at version [0-9]+, ([0-9.e+-]+) ms after the change");
    const auto samples = [&] {
        std::vector<double> out;
        const std::string log = gw_->log();
        for (auto it = std::sregex_iterator(log.begin(), log.end(), line); it != std::sregex_iterator(); ++it)
            out.push_back(std::stod((*it)[2]));
        return out;
    };
    const std::size_t at_start = samples().size();  // the first report includes connecting
    constexpr int kCalls = 200;
    for (int i = 0; i < kCalls; ++i) {
        const std::string id = "bench-" + std::to_string(i);
        c->publish(kCall, call(id), 1);
        ASSERT_TRUE(c->wait_for([&](const auto& r) { return gateway_reported(r, "idle", id); }, 10s))
            << gw_->log();
        if (i % 50 == 49) c->clear();
    }
    std::vector<double> ms = samples();
    ms.erase(ms.begin(), ms.begin() + static_cast<std::ptrdiff_t>(at_start));
    // Every call's idle at least; a moving may share its update with the idle that followed it
    // while the previous update was still out (a loaded machine), so this is not 2 per call.
    ASSERT_GE(ms.size(), static_cast<std::size_t>(kCalls));
    std::sort(ms.begin(), ms.end());
    const auto pct = [&](double p) {
        return ms[static_cast<std::size_t>(p * static_cast<double>(ms.size() - 1))];
    };
    std::cout << "[ shadow  ] state change -> update/accepted over " << ms.size() << " changes (" << kCalls
              << " calls): p50 " << pct(0.50) << " ms, p99 " << pct(0.99) << " ms, max " << ms.back()
              << " ms\n";
    RecordProperty("p50_ms", std::to_string(pct(0.50)));
    RecordProperty("p99_ms", std::to_string(pct(0.99)));
}

}  // namespace
}  // namespace localcore::conformance
