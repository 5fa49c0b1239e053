// Device Shadow over MQTT through the broker (docs/aws-iot-core.md section 4), as AMR-001 with its
// device certificate and policy.
#include <ctime>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "localcore_fixture.hpp"

namespace localcore::conformance {
namespace {

using Received = TestMqttClient::Received;
const std::string kClassic = "$aws/things/AMR-001/shadow";
const std::string kRobot = "$aws/things/AMR-001/shadow/name/robot";

// A device connection subscribed to every response of AMR-001's shadows.
class ConformanceShadow : public LocalCoreTest {
protected:
    void SetUp() override {
        LocalCoreTest::SetUp();
        device = lc->connect(lc->amr1, "AMR-001");
        ASSERT_TRUE(device);
        device->subscribe("$aws/things/AMR-001/shadow/#");
    }

    // Publishes `payload` (which carries clientToken `token`) to PREFIX/op and returns the
    // accepted or rejected response carrying the same token.
    std::optional<Received> request(const std::string& prefix, const std::string& op,
                                    const std::string& token, const std::string& payload) {
        device->publish(prefix + "/" + op, payload, 1);
        const std::string accepted = prefix + "/" + op + "/accepted";
        const std::string rejected = prefix + "/" + op + "/rejected";
        return device->wait_for(
            [&](const Received& r) {
                return (r.topic == accepted || r.topic == rejected) &&
                       json_str(parse_json(r.payload), {"clientToken"}) == token;
            },
            5s);
    }
    std::optional<Received> get(const std::string& prefix, const std::string& token) {
        return request(prefix, "get", token, R"({"clientToken":")" + token + R"("})");
    }
    std::optional<Received> update(const std::string& prefix, const std::string& token,
                                   const std::string& body) {
        // body: the JSON members after the clientToken, e.g. "\"state\":{...}"
        return request(prefix, "update", token, R"({"clientToken":")" + token + R"(",)" + body + "}");
    }
    // Messages on `topic` carrying `token`.
    std::vector<Received> with_token(const std::string& topic, const std::string& token) const {
        std::vector<Received> out;
        for (const auto& r : device->received())
            if (r.topic == topic && json_str(parse_json(r.payload), {"clientToken"}) == token)
                out.push_back(r);
        return out;
    }

    std::unique_ptr<TestMqttClient> device;
};

std::int64_t now_s() { return static_cast<std::int64_t>(std::time(nullptr)); }

TEST_F(ConformanceShadow, UpdateIsAcceptedWithVersionMetadataAndClientToken) {
    const auto first = update(kClassic, "t1", R"("state":{"reported":{"battery":80}})");
    ASSERT_TRUE(first);
    ASSERT_EQ(first->topic, kClassic + "/update/accepted") << first->payload;
    const auto doc = parse_json(first->payload);
    EXPECT_EQ(json_int(doc, {"state", "reported", "battery"}), 80) << first->payload;
    const auto stamp = json_int(doc, {"metadata", "reported", "battery", "timestamp"});
    ASSERT_TRUE(stamp) << first->payload;
    EXPECT_NEAR(static_cast<double>(*stamp), static_cast<double>(now_s()), 5.0)
        << "shadow timestamps are epoch seconds";
    EXPECT_EQ(json_int(doc, {"version"}), 1);
    EXPECT_TRUE(json_int(doc, {"timestamp"})) << first->payload;
    EXPECT_EQ(json_str(doc, {"clientToken"}), "t1");

    const auto second = update(kClassic, "t2", R"("state":{"reported":{"battery":79}})");
    ASSERT_TRUE(second);
    EXPECT_EQ(json_int(parse_json(second->payload), {"version"}), 2) << second->payload;
}

TEST_F(ConformanceShadow, DesiredDifferentFromReportedPublishesDelta) {
    ASSERT_TRUE(
        update(kClassic, "u1",
               R"("state":{"desired":{"speed":2,"mode":"auto"},"reported":{"speed":1,"mode":"auto"}})"));
    ASSERT_TRUE(device->wait_for_count(kClassic + "/update/delta", 1, 5s));
    const auto deltas = with_token(kClassic + "/update/delta", "u1");
    ASSERT_EQ(deltas.size(), 1u);
    const auto doc = parse_json(deltas[0].payload);
    EXPECT_EQ(json_int(doc, {"state", "speed"}), 2) << deltas[0].payload;
    EXPECT_FALSE(json_has(doc, {"state", "mode"})) << "in sync, not part of the delta: " << deltas[0].payload;
    EXPECT_EQ(json_int(doc, {"version"}), 1);
    EXPECT_TRUE(json_int(doc, {"metadata", "speed", "timestamp"})) << deltas[0].payload;

    // In sync again: no delta for that update. Responses keep their order, so once the get
    // answer is in, a delta of u2 would have arrived before it.
    ASSERT_TRUE(update(kClassic, "u2", R"("state":{"reported":{"speed":2}})"));
    ASSERT_TRUE(get(kClassic, "g1"));
    EXPECT_TRUE(with_token(kClassic + "/update/delta", "u2").empty());
}

TEST_F(ConformanceShadow, UpdatePublishesDocumentsWithPreviousAndCurrent) {
    ASSERT_TRUE(update(kClassic, "d1", R"("state":{"reported":{"x":1}})"));
    ASSERT_TRUE(update(kClassic, "d2", R"("state":{"reported":{"x":2}})"));
    ASSERT_TRUE(device->wait_for_count(kClassic + "/update/documents", 2, 5s));

    const auto first = with_token(kClassic + "/update/documents", "d1");
    ASSERT_EQ(first.size(), 1u);
    const auto d1 = parse_json(first[0].payload);
    const rapidjson::Value* previous = json_at(d1, {"previous"});
    EXPECT_TRUE(previous == nullptr || previous->IsNull()) << "new shadow: " << first[0].payload;
    EXPECT_EQ(json_int(d1, {"current", "state", "reported", "x"}), 1) << first[0].payload;
    EXPECT_EQ(json_int(d1, {"current", "version"}), 1);

    const auto second = with_token(kClassic + "/update/documents", "d2");
    ASSERT_EQ(second.size(), 1u);
    const auto d2 = parse_json(second[0].payload);
    EXPECT_EQ(json_int(d2, {"previous", "state", "reported", "x"}), 1) << second[0].payload;
    EXPECT_EQ(json_int(d2, {"previous", "version"}), 1);
    EXPECT_EQ(json_int(d2, {"current", "state", "reported", "x"}), 2);
    EXPECT_EQ(json_int(d2, {"current", "version"}), 2);
    EXPECT_TRUE(json_int(d2, {"current", "metadata", "reported", "x", "timestamp"}));
    EXPECT_TRUE(json_int(d2, {"timestamp"}));
}

TEST_F(ConformanceShadow, GetReturnsTheFullDocument) {
    ASSERT_TRUE(
        update(kClassic, "u1", R"("state":{"desired":{"lamp":"on"},"reported":{"lamp":"off","temp":21}})"));
    const auto r = get(kClassic, "g1");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->topic, kClassic + "/get/accepted") << r->payload;
    const auto doc = parse_json(r->payload);
    EXPECT_EQ(json_str(doc, {"state", "desired", "lamp"}), "on") << r->payload;
    EXPECT_EQ(json_str(doc, {"state", "reported", "lamp"}), "off");
    EXPECT_EQ(json_int(doc, {"state", "reported", "temp"}), 21);
    EXPECT_EQ(json_str(doc, {"state", "delta", "lamp"}), "on");
    EXPECT_FALSE(json_has(doc, {"state", "delta", "temp"})) << "reported-only keys are not in the delta";
    EXPECT_TRUE(json_int(doc, {"metadata", "desired", "lamp", "timestamp"}));
    EXPECT_TRUE(json_int(doc, {"metadata", "reported", "temp", "timestamp"}));
    EXPECT_EQ(json_int(doc, {"version"}), 1);
    EXPECT_TRUE(json_int(doc, {"timestamp"}));
    EXPECT_EQ(json_str(doc, {"clientToken"}), "g1");
}

TEST_F(ConformanceShadow, StaleVersionIsRejectedWith409) {
    ASSERT_TRUE(update(kClassic, "v1", R"("state":{"reported":{"a":1}})"));
    const auto current = update(kClassic, "v2", R"("state":{"reported":{"a":2}},"version":1)");
    ASSERT_TRUE(current);
    EXPECT_EQ(current->topic, kClassic + "/update/accepted") << "the current version is accepted";

    const auto stale = update(kClassic, "v3", R"("state":{"reported":{"a":3}},"version":1)");
    ASSERT_TRUE(stale);
    ASSERT_EQ(stale->topic, kClassic + "/update/rejected") << stale->payload;
    const auto doc = parse_json(stale->payload);
    EXPECT_EQ(json_int(doc, {"code"}), 409);
    EXPECT_EQ(json_str(doc, {"message"}), "Version conflict");
    EXPECT_EQ(json_str(doc, {"clientToken"}), "v3");

    const auto after = get(kClassic, "g");
    ASSERT_TRUE(after);
    EXPECT_EQ(json_int(parse_json(after->payload), {"state", "reported", "a"}), 2)
        << "the rejected update changed it: " << after->payload;
}

TEST_F(ConformanceShadow, DeleteThenGetGives404) {
    ASSERT_TRUE(update(kClassic, "u1", R"("state":{"reported":{"a":1}})"));
    const auto deleted = request(kClassic, "delete", "del", R"({"clientToken":"del"})");
    ASSERT_TRUE(deleted);
    ASSERT_EQ(deleted->topic, kClassic + "/delete/accepted") << deleted->payload;
    EXPECT_EQ(json_int(parse_json(deleted->payload), {"version"}), 1) << deleted->payload;

    const auto r = get(kClassic, "g1");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->topic, kClassic + "/get/rejected") << r->payload;
    const auto doc = parse_json(r->payload);
    EXPECT_EQ(json_int(doc, {"code"}), 404);
    EXPECT_NE(json_str(doc, {"message"}).value_or("").find("No shadow exists"), std::string::npos)
        << r->payload;
    EXPECT_EQ(json_str(doc, {"clientToken"}), "g1");
}

TEST_F(ConformanceShadow, NamedShadowIsIsolatedFromTheClassicShadow) {
    const auto named = update(kRobot, "n1", R"("state":{"reported":{"arm":"up"}})");
    ASSERT_TRUE(named);
    ASSERT_EQ(named->topic, kRobot + "/update/accepted") << named->payload;

    const auto classic_missing = get(kClassic, "c0");
    ASSERT_TRUE(classic_missing);
    EXPECT_EQ(classic_missing->topic, kClassic + "/get/rejected") << "the classic shadow was never created";

    ASSERT_TRUE(update(kClassic, "c1", R"("state":{"reported":{"wheels":4}})"));
    const auto robot = get(kRobot, "n2");
    ASSERT_TRUE(robot);
    const auto r = parse_json(robot->payload);
    EXPECT_EQ(json_str(r, {"state", "reported", "arm"}), "up") << robot->payload;
    EXPECT_FALSE(json_has(r, {"state", "reported", "wheels"})) << robot->payload;
    EXPECT_EQ(json_int(r, {"version"}), 1);
    const auto classic = get(kClassic, "c2");
    ASSERT_TRUE(classic);
    const auto c = parse_json(classic->payload);
    EXPECT_EQ(json_int(c, {"state", "reported", "wheels"}), 4) << classic->payload;
    EXPECT_FALSE(json_has(c, {"state", "reported", "arm"})) << classic->payload;
    EXPECT_EQ(json_int(c, {"version"}), 1);
}

// AWS keeps shadows for every thing name a policy allows, registered or not: a missing one is
// 404 "No shadow exists with name: '<thing or shadow>'", never "Thing not found".
TEST_F(ConformanceShadow, ShadowsNeedNoRegisteredThing) {
    lc->put_policy("ghost-shadows", R"({
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": ["iot:Connect"], "Resource": ["arn:aws:iot:*:*:client/ghost-*"]},
    {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"],
     "Resource": ["arn:aws:iot:*:*:topic/$aws/things/GHOST-1/shadow/*"]},
    {"Effect": "Allow", "Action": ["iot:Subscribe"],
     "Resource": ["arn:aws:iot:*:*:topicfilter/$aws/things/GHOST-1/shadow/*"]}
  ]
})");
    device = lc->connect(lc->issue_claim_cert("ghost-shadows", "ghost"), "ghost-1");
    ASSERT_TRUE(device);
    device->subscribe("$aws/things/GHOST-1/shadow/#");
    const std::string classic = "$aws/things/GHOST-1/shadow";
    const std::string named = "$aws/things/GHOST-1/shadow/name/nav";

    for (const auto& [prefix, name] : {std::pair{classic, "GHOST-1"}, std::pair{named, "nav"}}) {
        const auto missing = get(prefix, "g-" + std::string(name));
        ASSERT_TRUE(missing) << prefix;
        ASSERT_EQ(missing->topic, prefix + "/get/rejected") << missing->payload;
        const auto doc = parse_json(missing->payload);
        EXPECT_EQ(json_int(doc, {"code"}), 404) << missing->payload;
        EXPECT_EQ(json_str(doc, {"message"}), "No shadow exists with name: '" + std::string(name) + "'");

        const auto created = update(prefix, "u-" + std::string(name), R"("state":{"reported":{"a":1}})");
        ASSERT_TRUE(created) << prefix;
        ASSERT_EQ(created->topic, prefix + "/update/accepted") << created->payload;
        const auto got = get(prefix, "g2-" + std::string(name));
        ASSERT_TRUE(got) << prefix;
        EXPECT_EQ(json_int(parse_json(got->payload), {"state", "reported", "a"}), 1) << got->payload;
    }
}

// 130,000 unclosed brackets (just under the 128 KB payload limit): rejected, and the broker
// still answers afterwards (the recursive parse this replaced overflowed the broker's stack).
TEST_F(ConformanceShadow, ADeeplyNestedRequestIsRejectedAndTheBrokerStaysUp) {
    const std::string deep = std::string(130000, '[');
    device->publish(kClassic + "/update", deep, 1);
    const auto r =
        device->wait_for([&](const Received& m) { return m.topic == kClassic + "/update/rejected"; }, 5s);
    ASSERT_TRUE(r);
    const auto doc = parse_json(r->payload);
    EXPECT_EQ(json_int(doc, {"code"}), 400) << r->payload;
    EXPECT_EQ(json_str(doc, {"message"}),
              std::string("JSON contains too many levels of nesting; maximum is 6"));
    const auto after = update(kClassic, "after", R"("state":{"reported":{"a":1}})");
    ASSERT_TRUE(after);
    EXPECT_EQ(after->topic, kClassic + "/update/accepted") << after->payload;
}

TEST_F(ConformanceShadow, ShadowPersistsAcrossBrokerRestart) {
    ASSERT_TRUE(update(kClassic, "p1", R"("state":{"desired":{"speed":3},"reported":{"speed":1}})"));
    ASSERT_TRUE(update(kRobot, "p2", R"("state":{"reported":{"arm":"down"}})"));
    device.reset();
    lc->restart_broker();

    device = lc->connect(lc->amr1, "AMR-001");
    ASSERT_TRUE(device);
    device->subscribe("$aws/things/AMR-001/shadow/#");
    const auto classic = get(kClassic, "after");
    ASSERT_TRUE(classic);
    ASSERT_EQ(classic->topic, kClassic + "/get/accepted") << classic->payload;
    const auto c = parse_json(classic->payload);
    EXPECT_EQ(json_int(c, {"state", "desired", "speed"}), 3) << classic->payload;
    EXPECT_EQ(json_int(c, {"state", "reported", "speed"}), 1);
    EXPECT_EQ(json_int(c, {"version"}), 1);
    const auto robot = get(kRobot, "after-robot");
    ASSERT_TRUE(robot);
    EXPECT_EQ(json_str(parse_json(robot->payload), {"state", "reported", "arm"}), "down") << robot->payload;
}

}  // namespace
}  // namespace localcore::conformance
