// The backend step of certificate rotation (docs/aws-iot-core.md section 6; localcore/lib/rotation.hpp):
// a device connected with its new certificate reports amr/{thing}/certificate/rotated
// {"oldCertificateId": ...}; the old certificate becomes INACTIVE and its connections drop.
#include <thread>

#include <gtest/gtest.h>

#include "localcore_fixture.hpp"

namespace localcore::conformance {
namespace {

using ConformanceRotation = LocalCoreTest;
using Received = TestMqttClient::Received;

const std::string kRotated = "amr/AMR-001/certificate/rotated";

std::string rotation_report(const std::string& old_id, const std::string& token) {
    return R"({"oldCertificateId":")" + old_id + R"(","clientToken":")" + token + R"("})";
}

TEST_F(ConformanceRotation, ReportFromTheNewCertificateDeactivatesTheOldOneAndDropsItsConnection) {
    const Identity old_cert = lc->amr1;
    // The old certificate's live connection: the device policy allows only client id AMR-001,
    // which the new certificate's connection takes over, so the old certificate also gets the
    // console policy and stays connected as console-old.
    lc->cli({"attach-policy", old_cert.cert_id, "console"});
    auto old_conn = lc->connect(old_cert, "console-old");
    ASSERT_TRUE(old_conn);

    const Identity new_cert = lc->issue_cert("AMR-001");
    auto device = lc->connect(new_cert, "AMR-001");
    ASSERT_TRUE(device);
    device->subscribe(kRotated + "/+");
    device->publish(kRotated, rotation_report(old_cert.cert_id, "r1"), 1);

    const auto r =
        device->wait_for([](const Received& m) { return m.topic.starts_with(kRotated + "/"); }, 5s);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->topic, kRotated + "/accepted") << r->payload;
    const auto doc = parse_json(r->payload);
    EXPECT_EQ(json_str(doc, {"oldCertificateId"}), old_cert.cert_id);
    EXPECT_EQ(json_str(doc, {"newCertificateId"}), new_cert.cert_id);
    EXPECT_EQ(json_str(doc, {"clientToken"}), "r1");

    EXPECT_EQ(lc->cert_status(old_cert.cert_id), "INACTIVE");
    EXPECT_EQ(lc->cert_status(new_cert.cert_id), "ACTIVE");
    const std::string described = lc->cli({"describe", "cert", old_cert.cert_id});
    EXPECT_EQ(described.find("things: AMR-001"), std::string::npos) << "not detached:\n" << described;

    const auto end = std::chrono::steady_clock::now() + 2s;
    while (old_conn->connected() && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(10ms);
    EXPECT_FALSE(old_conn->connected()) << "the old certificate's connection is still up";
    EXPECT_TRUE(device->connected());
    auto retry = lc->client(old_cert, "console-old");
    EXPECT_FALSE(retry->connect(2s));
}

TEST_F(ConformanceRotation, ReportAboutAnotherThingsCertificateIsRejected) {
    auto other = lc->connect(lc->amr2, "AMR-002");
    ASSERT_TRUE(other);
    const std::string topic = "amr/AMR-002/certificate/rotated";
    other->subscribe(topic + "/+");
    other->publish(topic, rotation_report(lc->amr1.cert_id, "evil"), 1);

    const auto r = other->wait_for([&](const Received& m) { return m.topic.starts_with(topic + "/"); }, 5s);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->topic, topic + "/rejected") << r->payload;
    EXPECT_EQ(json_int(parse_json(r->payload), {"code"}), 403) << r->payload;
    EXPECT_EQ(lc->cert_status(lc->amr1.cert_id), "ACTIVE");
    EXPECT_EQ(lc->cert_status(lc->amr2.cert_id), "ACTIVE");
}

TEST_F(ConformanceRotation, ReportOnAnotherThingsRotationTopicIsNotAuthorized) {
    auto probe = lc->probe(lc->amr2, "AMR-002");
    ASSERT_EQ(probe->connect(), "");
    EXPECT_EQ(probe->publish_qos1(kRotated, rotation_report(lc->amr1.cert_id, "evil")), 0x87);
    EXPECT_EQ(lc->cert_status(lc->amr1.cert_id), "ACTIVE");
}

}  // namespace
}  // namespace localcore::conformance
