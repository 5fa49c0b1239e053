// AWS IoT Core protocol limits (docs/aws-iot-core.md section 3): QoS 0/1 only, 128 KB payloads, at most
// 7 slashes in topics and filters, client ids of at most 128 bytes. Each test has the control at
// the limit next to the violation just past it.
#include <thread>

#include <gtest/gtest.h>

#include "localcore_fixture.hpp"

namespace localcore::conformance {
namespace {

using ConformanceLimits = LocalCoreTest;

bool disconnected_within(const TestMqttClient& c, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (c.connected() && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(10ms);
    return !c.connected();
}

TEST_F(ConformanceLimits, Qos2PublishClosesTheConnection) {
    auto c = lc->connect(lc->amr1, "AMR-001");
    ASSERT_TRUE(c);
    ASSERT_NO_THROW(c->publish("amr/AMR-001/status", "qos1", 1));
    ASSERT_TRUE(c->connected());

    EXPECT_THROW(c->publish("amr/AMR-001/status", "qos2", 2), std::runtime_error);
    EXPECT_TRUE(disconnected_within(*c, 3s));
}

TEST_F(ConformanceLimits, PayloadOver128KiBClosesTheConnection) {
    constexpr std::size_t kLimit = 128 * 1024;
    auto c = lc->connect(lc->amr1, "AMR-001");
    ASSERT_TRUE(c);
    ASSERT_NO_THROW(c->publish("amr/AMR-001/telemetry", std::string(kLimit, 'x'), 1));
    ASSERT_TRUE(c->connected());

    EXPECT_THROW(c->publish("amr/AMR-001/telemetry", std::string(kLimit + 1, 'x'), 1), std::runtime_error);
    EXPECT_TRUE(disconnected_within(*c, 3s));
    EXPECT_TRUE(lc->wait_broker_log("over the AWS limit of 128 KB")) << lc->broker_log();
}

TEST_F(ConformanceLimits, TopicWithMoreThanSevenSlashesClosesTheConnection) {
    auto c = lc->connect(lc->amr1, "AMR-001");
    ASSERT_TRUE(c);
    ASSERT_NO_THROW(c->publish("amr/AMR-001/a/b/c/d/e/f", "7 slashes", 1));
    ASSERT_TRUE(c->connected());

    EXPECT_THROW(c->publish("amr/AMR-001/a/b/c/d/e/f/g", "8 slashes", 1), std::runtime_error);
    EXPECT_TRUE(disconnected_within(*c, 3s));
}

TEST_F(ConformanceLimits, TopicFilterWithMoreThanSevenSlashesClosesTheConnection) {
    // MQTT 5, where a mere denial would be a SUBACK 0x87: a limit closes the connection instead.
    auto c = lc->connect(lc->amr1, "AMR-001", Mqtt::v5);
    ASSERT_TRUE(c);
    ASSERT_NO_THROW(c->subscribe("amr/AMR-001/a/b/c/d/e/+"));
    ASSERT_TRUE(c->connected());

    EXPECT_THROW(c->subscribe("amr/AMR-001/a/b/c/d/e/f/#"), std::runtime_error);
    EXPECT_TRUE(disconnected_within(*c, 3s));
}

TEST_F(ConformanceLimits, ClientIdOver128BytesIsRefused) {
    // A policy that allows client/claim-*, so only the length can make the difference.
    lc->put_policy("claim-prefix", R"({"Version": "2012-10-17", "Statement": [
      {"Effect": "Allow", "Action": ["iot:Connect"], "Resource": ["arn:aws:iot:*:*:client/claim-*"]}]})");
    const Identity any_claim_id = lc->issue_claim_cert("claim-prefix", "claim-prefix");
    const std::string at_limit = "claim-" + std::string(128 - 6, 'a');
    const std::string over = "claim-" + std::string(128 - 6 + 1, 'a');
    auto ok = lc->client(any_claim_id, at_limit);
    EXPECT_TRUE(ok->connect(5s)) << ok->last_error();

    const CommandResult r = lc->pub(any_claim_id, over, "$aws/certificates/create-from-csr/json", "{}");
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.output.find("received CONNACK (5)"), std::string::npos) << r.output;
    EXPECT_TRUE(lc->wait_broker_log("is not valid (AWS: at most 128 bytes")) << lc->broker_log();
}

}  // namespace
}  // namespace localcore::conformance
