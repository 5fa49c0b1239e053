// The mqtt connection's settings checks (mqtt_settings.hpp) and its link event JSON
// (link_event.hpp): pure functions, no host, no socket.
#include "mqtt_settings.hpp"
#include "link_event.hpp"

#include <gtest/gtest.h>

#include <rapidjson/document.h>

#include <string>
#include <vector>

namespace iotgw::plugins::mqtt {
namespace {

// What the schema's defaults give for thing AMR-001 with an endpoint set.
MqttSettings usable() {
    MqttSettings s;
    s.endpoint = "example-ats.iot.ap-northeast-1.amazonaws.com";
    s.credentials = "device";
    s.client_id = "AMR-001";
    s.will.topic = "amr/AMR-001/status";
    s.will.payload = R"({"state":"offline"})";
    s.topic_scope = {"amr/AMR-001/#", "$aws/things/AMR-001/#"};
    return s;
}

std::vector<std::string> fields_of(const std::vector<SettingsError>& errors) {
    std::vector<std::string> out;
    for (const auto& e : errors) out.push_back(e.field);
    return out;
}

TEST(MqttSettings, TheDefaultsWithAnEndpointAreUsable) { EXPECT_TRUE(check_settings(usable()).empty()); }

TEST(MqttSettings, AnEmptyEndpointIsRefused) {
    MqttSettings s = usable();
    s.endpoint.clear();
    const auto errors = check_settings(s);
    ASSERT_EQ(fields_of(errors), std::vector<std::string>{"endpoint"});
    EXPECT_EQ(errors[0].message, "'endpoint' must name the broker host");
}

TEST(MqttSettings, AnEndpointWithAPortSchemeOrPathIsRefusedWithTheValue) {
    for (const char* bad : {"broker:8883", "ssl://broker", "broker/path", "two words"}) {
        MqttSettings s = usable();
        s.endpoint = bad;
        const auto errors = check_settings(s);
        ASSERT_EQ(fields_of(errors), std::vector<std::string>{"endpoint"}) << bad;
        EXPECT_EQ(errors[0].message, "'endpoint' must be a bare host name ('" + std::string(bad) +
                                         "'): put the port in 'port', no scheme, no path");
    }
}

TEST(MqttSettings, AClientIdAwsRefusesIsNamed) {
    MqttSettings s = usable();
    s.client_id = std::string(129, 'x');
    auto errors = check_settings(s);
    ASSERT_EQ(fields_of(errors), std::vector<std::string>{"client_id"});
    EXPECT_NE(errors[0].message.find("AWS IoT allows at most 128"), std::string::npos) << errors[0].message;

    s.client_id.clear();
    errors = check_settings(s);
    ASSERT_EQ(fields_of(errors), std::vector<std::string>{"client_id"});
    EXPECT_EQ(errors[0].message, "client_id must not be empty ('')");
}

TEST(MqttSettings, AReconnectMaximumBelowTheMinimumIsRefused) {
    MqttSettings s = usable();
    s.reconnect_min = std::chrono::seconds(10);
    s.reconnect_max = std::chrono::seconds(5);
    s.reconnect_spread = s.reconnect_max;  // what an unset reconnect_spread becomes
    const auto errors = check_settings(s);
    ASSERT_EQ(fields_of(errors), std::vector<std::string>{"reconnect_max"});
    EXPECT_EQ(errors[0].message, "'reconnect_max' must not be shorter than 'reconnect_min'");
    s.reconnect_max = s.reconnect_min;
    EXPECT_TRUE(check_settings(s).empty());
}

TEST(MqttSettings, AReconnectSpreadLongerThanTheMaximumIsRefused) {
    MqttSettings s = usable();
    s.reconnect_max = std::chrono::seconds(20);
    s.reconnect_spread = std::chrono::seconds(21);
    const auto errors = check_settings(s);
    ASSERT_EQ(fields_of(errors), std::vector<std::string>{"reconnect_spread"});
    EXPECT_EQ(errors[0].message,
              "'reconnect_spread' must not be longer than 'reconnect_max' (no attempt waits longer than the "
              "maximum)");
    s.reconnect_spread = s.reconnect_max;
    EXPECT_TRUE(check_settings(s).empty());
    s.reconnect_spread = std::chrono::milliseconds(0);
    EXPECT_TRUE(check_settings(s).empty());
}

TEST(MqttSettings, AnInvalidScopeFilterIsNamed) {
    MqttSettings s = usable();
    s.topic_scope.push_back("amr/#/x");
    const auto errors = check_settings(s);
    ASSERT_FALSE(errors.empty());
    EXPECT_EQ(errors[0].field, "topic_scope");
    EXPECT_NE(errors[0].message.find("topic_scope: 'amr/#/x' is not a valid topic filter"), std::string::npos)
        << errors[0].message;
}

TEST(MqttSettings, AWillOutsideTheScopeIsRefusedOnlyWhenTheWillIsOn) {
    MqttSettings s = usable();
    s.will.topic = "amr/AMR-002/status";
    const auto errors = check_settings(s);
    ASSERT_EQ(fields_of(errors), std::vector<std::string>{"will_topic"});
    EXPECT_EQ(errors[0].message.rfind("will_topic 'amr/AMR-002/status' ", 0), 0u) << errors[0].message;
    EXPECT_NE(errors[0].message.find("outside topic_scope"), std::string::npos) << errors[0].message;

    s.will.enabled = false;
    EXPECT_TRUE(check_settings(s).empty());
}

TEST(MqttSettings, AWillPayloadOverAwsLimitIsRefused) {
    MqttSettings s = usable();
    s.will.payload = std::string(131072, 'x');
    EXPECT_TRUE(check_settings(s).empty());  // exactly 128 KiB is allowed
    s.will.payload.push_back('x');
    const auto errors = check_settings(s);
    ASSERT_EQ(fields_of(errors), std::vector<std::string>{"will_payload"});
    EXPECT_EQ(errors[0].message, "will_payload is larger than AWS IoT's 128 KiB limit");
}

TEST(MqttSettings, EveryProblemIsReportedInFieldOrder) {
    MqttSettings s = usable();
    s.endpoint.clear();
    s.reconnect_max = std::chrono::milliseconds(1);
    s.reconnect_spread = s.reconnect_max;  // what an unset reconnect_spread becomes
    s.will.payload = std::string(131073, 'x');
    EXPECT_EQ(fields_of(check_settings(s)),
              (std::vector<std::string>{"endpoint", "reconnect_max", "will_payload"}));
}

TEST(MqttSettings, Port443OffersAwsAlpnUnlessOneIsConfigured) {
    EXPECT_EQ(effective_alpn("", 443), "x-amzn-mqtt-ca");
    EXPECT_EQ(effective_alpn("", 8883), "");
    EXPECT_EQ(effective_alpn("mqtt", 443), "mqtt");
}

TEST(MqttLinkEvent, AConnectCarriesSessionReconnectsAndCertificate) {
    EXPECT_EQ(link_event_json(link_connected(false, 3, "abc123")),
              R"({"connected":true,"session_present":false,"reconnects":3,"certificate_id":"abc123"})");
}

TEST(MqttLinkEvent, ASessionFlagTheClientLibraryDidNotReportIsLeftOut) {
    EXPECT_EQ(link_event_json(link_connected(std::nullopt, 0, "abc123")),
              R"({"connected":true,"reconnects":0,"certificate_id":"abc123"})");
}

TEST(MqttLinkEvent, AFailedAttemptCarriesReasonCountsKindAndCertificate) {
    // `refusals` and `last_failure` come after the fields older readers know, which keep their order.
    EXPECT_EQ(link_event_json(link_attempt_failed("refused", 2, 1, "not_authorized", "")),
              R"({"connected":false,"reason":"refused","failures":2,"refusals":1,)"
              R"("last_failure":"not_authorized","certificate_id":""})");
    EXPECT_EQ(link_event_json(link_attempt_failed("TCP/TLS connect failure (rc -1)", 5, 0, "network", "ab")),
              R"x({"connected":false,"reason":"TCP/TLS connect failure (rc -1)","failures":5,"refusals":0,)x"
              R"("last_failure":"network","certificate_id":"ab"})");
}

TEST(MqttLinkEvent, ALossCarriesOnlyTheReason) {
    EXPECT_EQ(link_event_json(link_down("connection lost")),
              R"({"connected":false,"reason":"connection lost"})");
}

TEST(MqttLinkEvent, TheReasonIsEscaped) {
    const std::string reason = "TLS: \"bad\" certificate\n\\ at depth 0";
    const std::string json = link_event_json(link_down(reason));
    rapidjson::Document d;
    d.Parse(json.c_str(), json.size());
    ASSERT_FALSE(d.HasParseError()) << json;
    EXPECT_EQ(std::string(d["reason"].GetString()), reason);
}

}  // namespace
}  // namespace iotgw::plugins::mqtt
