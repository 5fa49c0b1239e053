// IoT policy evaluation on CONNECT, PUBLISH, SUBSCRIBE and every delivery, with the cloud/policies
// documents (docs/aws-iot-core.md section 2).
#include <thread>

#include <gtest/gtest.h>

#include "localcore_fixture.hpp"

namespace localcore::conformance {
namespace {

using ConformancePolicy = LocalCoreTest;

constexpr int kNotAuthorized = 0x87;
constexpr int kSubackFailure311 = 0x80;

// Waits until the paho client notices its connection is gone.
bool disconnected_within(const TestMqttClient& c, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (c.connected() && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(10ms);
    return !c.connected();
}

TEST_F(ConformancePolicy, ThingCannotPublishToAnotherThingsTopicsOrShadow) {
    auto probe = lc->probe(lc->amr1, "AMR-001");
    ASSERT_EQ(probe->connect(), "");
    EXPECT_LT(probe->publish_qos1("amr/AMR-001/status", "{}"), 0x80);  // control: own topic
    EXPECT_EQ(probe->publish_qos1("amr/AMR-002/status", "{}"), kNotAuthorized);
    EXPECT_EQ(probe->publish_qos1("$aws/things/AMR-002/shadow/update", R"({"state":{"reported":{"a":1}}})"),
              kNotAuthorized);
    EXPECT_EQ(probe->publish_qos1("$aws/things/AMR-002/shadow/get", "{}"), kNotAuthorized);
    EXPECT_TRUE(probe->connected());
}

TEST_F(ConformancePolicy, ThingCannotSubscribeToAnotherThingsTopicsOrShadow) {
    auto probe = lc->probe(lc->amr1, "AMR-001");
    ASSERT_EQ(probe->connect(), "");
    EXPECT_EQ(probe->subscribe("amr/AMR-001/commands"), 1);  // control: granted QoS 1
    EXPECT_EQ(probe->subscribe("amr/AMR-002/commands"), kNotAuthorized);
    EXPECT_EQ(probe->subscribe("amr/AMR-002/#"), kNotAuthorized);
    EXPECT_EQ(probe->subscribe("$aws/things/AMR-002/shadow/update/accepted"), kNotAuthorized);
    EXPECT_EQ(probe->subscribe("$aws/things/AMR-002/shadow/get/+"), kNotAuthorized);
    EXPECT_TRUE(probe->connected());
}

// iot:Receive is checked on every delivery: a policy that lets AMR-001 subscribe to every thing's
// topics and shadows but receive only its own must filter what wildcard subscriptions deliver.
TEST_F(ConformancePolicy, ThingDoesNotReceiveAnotherThingsMessagesThroughAWideSubscription) {
    lc->put_policy("wide-subscribe", R"({"Version": "2012-10-17", "Statement": [
      {"Effect": "Allow", "Action": ["iot:Connect"],
       "Resource": ["arn:aws:iot:*:*:client/${iot:Connection.Thing.ThingName}"]},
      {"Effect": "Allow", "Action": ["iot:Subscribe"],
       "Resource": ["arn:aws:iot:*:*:topicfilter/amr/*", "arn:aws:iot:*:*:topicfilter/$aws/things/*"]},
      {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"],
       "Resource": ["arn:aws:iot:*:*:topic/amr/${iot:Connection.Thing.ThingName}/*",
                    "arn:aws:iot:*:*:topic/$aws/things/${iot:Connection.Thing.ThingName}/*"]}]})");
    const Identity wide = lc->issue_cert("AMR-001", "wide-subscribe");

    auto watcher = lc->connect(wide, "AMR-001");
    ASSERT_TRUE(watcher);
    ASSERT_NO_THROW(watcher->subscribe("amr/+/status"));
    ASSERT_NO_THROW(watcher->subscribe("$aws/things/+/shadow/update/accepted"));
    auto other = lc->connect(lc->amr2, "AMR-002");
    ASSERT_TRUE(other);
    // PUBACK means the broker has routed the message (and the shadow service has answered).
    other->publish("amr/AMR-002/status", "from AMR-002", 1);
    other->publish("$aws/things/AMR-002/shadow/update", R"({"state":{"reported":{"who":"AMR-002"}}})", 1);
    watcher->publish("amr/AMR-001/status", "from AMR-001", 1);
    watcher->publish("$aws/things/AMR-001/shadow/update", R"({"state":{"reported":{"who":"AMR-001"}}})", 1);

    // Control: the same subscriptions deliver what Receive allows.
    EXPECT_TRUE(watcher->wait_for_count("amr/AMR-001/status", 1, 5s));
    EXPECT_TRUE(watcher->wait_for_count("$aws/things/AMR-001/shadow/update/accepted", 1, 5s));
    EXPECT_EQ(watcher->count("amr/AMR-002/status"), 0u) << "delivered despite no iot:Receive";
    EXPECT_EQ(watcher->count("$aws/things/AMR-002/shadow/update/accepted"), 0u)
        << "another thing's shadow delivered despite no iot:Receive";
}

TEST_F(ConformancePolicy, ClientIdMustBeTheCertificatesThing) {
    const CommandResult wrong = lc->pub(lc->amr1, "AMR-002", "amr/AMR-002/status", "{}");
    EXPECT_NE(wrong.status, 0);
    EXPECT_NE(wrong.output.find("received CONNACK (5)"), std::string::npos) << wrong.output;

    auto probe = lc->probe(lc->amr1, "AMR-002");
    EXPECT_NE(probe->connect(), "");
    auto right = lc->client(lc->amr1, "AMR-001");
    EXPECT_TRUE(right->connect(5s)) << right->last_error();
}

TEST_F(ConformancePolicy, Mqtt311UnauthorizedPublishClosesTheConnection) {
    auto c = lc->connect(lc->amr1, "AMR-001", Mqtt::v311);
    ASSERT_TRUE(c);
    c->publish("amr/AMR-001/status", "{}", 1);  // control
    ASSERT_TRUE(c->connected());

    EXPECT_THROW(c->publish("amr/AMR-002/status", "{}", 1), std::runtime_error);
    EXPECT_TRUE(disconnected_within(*c, 3s));
    EXPECT_TRUE(lc->wait_broker_log("denied PUBLISH 'amr/AMR-002/status'"));
}

TEST_F(ConformancePolicy, Mqtt311UnauthorizedSubscribeClosesTheConnectionByDefault) {
    auto c = lc->connect(lc->amr1, "AMR-001", Mqtt::v311);
    ASSERT_TRUE(c);
    EXPECT_THROW(c->subscribe("amr/AMR-002/status"), std::runtime_error);
    EXPECT_TRUE(disconnected_within(*c, 3s));
}

TEST_F(ConformancePolicy, Mqtt5UnauthorizedPublishGetsPuback0x87AndStaysConnected) {
    auto probe = lc->probe(lc->amr1, "AMR-001");
    ASSERT_EQ(probe->connect(), "");
    EXPECT_EQ(probe->publish_qos1("amr/AMR-002/status", "{}"), kNotAuthorized);
    EXPECT_TRUE(probe->connected());
    EXPECT_LT(probe->publish_qos1("amr/AMR-001/status", "{}"), 0x80);

    const CommandResult r = lc->pub(lc->amr1, "AMR-001", "amr/AMR-002/status", "{}", 1, Mqtt::v5);
    EXPECT_NE(r.output.find("received PUBACK (Mid: 1, RC:135)"), std::string::npos) << r.output;
}

TEST_F(ConformancePolicy, Mqtt5UnauthorizedSubscribeGetsSuback0x87AndStaysConnected) {
    auto probe = lc->probe(lc->amr1, "AMR-001");
    ASSERT_EQ(probe->connect(), "");
    EXPECT_EQ(probe->subscribe("amr/AMR-002/status"), kNotAuthorized);
    EXPECT_TRUE(probe->connected());
    EXPECT_EQ(probe->subscribe("amr/AMR-001/status"), 1);
}

TEST(ConformancePolicyOptions, Mqtt311SubackFailureOptionAnswers0x80AndStaysConnected) {
    LocalCore lc(LocalCoreOptions{.mqtt311_unauthorized = "suback_failure", .templates_dir = {}});
    lc.start_broker();

    auto s = lc.sub(lc.amr1, "AMR-001", {"amr/AMR-002/status"}, 5, 0, Mqtt::v311);
    // mosquitto_sub prints the granted QoS list of the SUBACK.
    EXPECT_EQ(s->wait_suback(5s).value_or("none"), std::to_string(kSubackFailure311)) << s->output();

    auto c = lc.connect(lc.amr1, "AMR-001", Mqtt::v311);
    ASSERT_TRUE(c);
    EXPECT_THROW(c->subscribe("amr/AMR-002/status"), std::runtime_error);  // paho: SUBACK failure
    std::this_thread::sleep_for(300ms);
    EXPECT_TRUE(c->connected()) << "suback_failure must not close the connection";
    EXPECT_NO_THROW(c->subscribe("amr/AMR-001/status"));
    EXPECT_NO_THROW(c->publish("amr/AMR-001/status", "still here", 1));
    EXPECT_TRUE(c->wait_for_count("amr/AMR-001/status", 1, 5s));
}

TEST_F(ConformancePolicy, ClaimCertificateReachesOnlyTheProvisioningTopics) {
    auto probe = lc->probe(lc->claim, "claim-AMR-001");
    ASSERT_EQ(probe->connect(), "");
    EXPECT_EQ(probe->subscribe("$aws/certificates/create-from-csr/json/accepted"), 1);
    EXPECT_EQ(probe->subscribe("$aws/provisioning-templates/amr/provision/json/rejected"), 1);
    EXPECT_EQ(probe->subscribe("amr/AMR-001/commands"), kNotAuthorized);
    EXPECT_EQ(probe->subscribe("$aws/things/AMR-001/shadow/get/accepted"), kNotAuthorized);
    EXPECT_EQ(probe->subscribe("$aws/provisioning-templates/other/provision/json/accepted"), kNotAuthorized);
    EXPECT_EQ(probe->publish_qos1("amr/AMR-001/status", "{}"), kNotAuthorized);
    EXPECT_EQ(probe->publish_qos1("$aws/things/AMR-001/shadow/update", R"({"state":{}})"), kNotAuthorized);
    // Service-only reply topics: nobody may publish there, even with the claim policy's Receive.
    EXPECT_EQ(probe->publish_qos1("$aws/certificates/create-from-csr/json/accepted", "{}"), kNotAuthorized);
    EXPECT_TRUE(probe->connected());

    // Connect is limited to claim-<the certificate's CN>: not the thing's own id, not another claim id.
    const CommandResult as_thing = lc->pub(lc->claim, "AMR-001", "amr/AMR-001/status", "{}");
    EXPECT_NE(as_thing.output.find("received CONNACK (5)"), std::string::npos) << as_thing.output;
}

// claim.json's Connect resource is client/claim-${iot:Certificate.Subject.CommonName}: resolved from
// the connection's certificate, so AMR-001's claim certificate cannot connect as AMR-002's claim client.
TEST_F(ConformancePolicy, ClaimCertificateConnectsOnlyAsItsOwnDevicesClaimClient) {
    auto own = lc->client(lc->claim_for("AMR-001"), "claim-AMR-001");
    EXPECT_TRUE(own->connect(5s)) << own->last_error();
    auto other_device = lc->client(lc->claim_for("AMR-002"), "claim-AMR-002");
    EXPECT_TRUE(other_device->connect(5s)) << other_device->last_error();

    for (const char* id : {"claim-AMR-002", "claim-AMR-0011", "claim-"}) {
        const CommandResult r =
            lc->pub(lc->claim_for("AMR-001"), id, "$aws/certificates/create-from-csr/json", "{}");
        EXPECT_NE(r.output.find("received CONNACK (5)"), std::string::npos) << id << "\n" << r.output;
    }
    EXPECT_TRUE(lc->wait_broker_log("refused connection of 'claim-AMR-002': no statement allows iot:Connect"))
        << lc->broker_log();
    // A certificate whose CN could act as a wildcard is never substituted (AWS): it connects nowhere.
    const Identity wildcard = lc->issue_claim_cert("claim", "AMR-*");
    const CommandResult r = lc->pub(wildcard, "claim-AMR-*", "$aws/certificates/create-from-csr/json", "{}");
    EXPECT_NE(r.output.find("received CONNACK (5)"), std::string::npos) << r.output;
}

TEST_F(ConformancePolicy, RetainedPublishOnOwnTopicIsDeliveredToLaterSubscribers) {
    auto device = lc->connect(lc->amr1, "AMR-001");
    ASSERT_TRUE(device);
    device->publish("amr/AMR-001/config", R"({"speed":2})", 1, true);
    device->disconnect();

    auto later = lc->sub(lc->amr1, "AMR-001", {"amr/AMR-001/config"}, 5, 1);
    const auto m = later->wait_topic("amr/AMR-001/config", 5s);
    ASSERT_TRUE(m) << later->output();
    EXPECT_EQ(m->payload, R"({"speed":2})");
    EXPECT_NE(later->output().find("r1"), std::string::npos) << "not flagged retained:\n" << later->output();
}

}  // namespace
}  // namespace localcore::conformance
