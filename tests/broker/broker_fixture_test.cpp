// The test fixtures themselves: a real mosquitto with mTLS, the dev PKI and the test client.
#include "mosquitto_broker.hpp"
#include "test_mqtt_client.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>

namespace iotgw::test {
namespace {

using namespace std::chrono_literals;

class BrokerFixtureTest : public ::testing::Test {
protected:
    TempDir tmp;
    DevPki pki{tmp.path() / "pki"};
};

TEST_F(BrokerFixtureTest, DevPkiIssuesPrivateKeys) {
    auto dev = pki.device("AMR-001");
    struct stat st {};
    ASSERT_EQ(stat(dev.key.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_TRUE(std::filesystem::exists(dev.cert));
}

TEST_F(BrokerFixtureTest, DevPkiErrorsSayWhatWasWrong) {
    try {
        pki.device("bad name");
        FAIL() << "expected an error";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("device name 'bad name' is not usable"), std::string::npos) << e.what();
    }
}

TEST_F(BrokerFixtureTest, ClientWithDevPkiCertConnectsOverTls) {
    MosquittoBroker broker(pki);
    TestMqttClient client(broker, pki.device("AMR-001"), "AMR-001");
    ASSERT_TRUE(client.connect()) << client.last_error() << "\n" << broker.log();
    client.subscribe("amr/AMR-001/#");
    client.publish("amr/AMR-001/status", "hello");
    auto got = client.wait_for([](const auto& r) { return r.topic == "amr/AMR-001/status"; });
    ASSERT_TRUE(got);
    EXPECT_EQ(got->payload, "hello");
    EXPECT_EQ(got->qos, 1);
    EXPECT_FALSE(got->retained);
}

TEST_F(BrokerFixtureTest, Mqtt5ClientConnects) {
    MosquittoBroker broker(pki);
    TestMqttClient client(broker, pki.device("AMR-001"), "AMR-001", 5);
    ASSERT_TRUE(client.connect()) << client.last_error();
    client.subscribe("amr/AMR-001/#");
    client.publish("amr/AMR-001/x", "v5");
    EXPECT_TRUE(client.wait_for([](const auto& r) { return r.payload == "v5"; }));
}

TEST_F(BrokerFixtureTest, AclKeepsThingsApart) {
    MosquittoBroker broker(pki);
    TestMqttClient amr1(broker, pki.device("AMR-001"), "AMR-001");
    TestMqttClient amr2(broker, pki.device("AMR-002"), "AMR-002");
    ASSERT_TRUE(amr1.connect()) << amr1.last_error();
    ASSERT_TRUE(amr2.connect()) << amr2.last_error();
    // mosquitto grants the denied SUBSCRIBE and filters at delivery (platform facts).
    amr1.subscribe("amr/AMR-002/#");
    amr1.subscribe("amr/AMR-001/#");
    amr2.subscribe("amr/AMR-002/#");
    amr2.publish("amr/AMR-002/status", "secret");
    ASSERT_TRUE(amr2.wait_for([](const auto& r) { return r.payload == "secret"; }));
    // A marker published after it, on AMR-001's own topic: once it arrives, "secret" would have too.
    amr1.publish("amr/AMR-001/marker", "m");
    ASSERT_TRUE(amr1.wait_for([](const auto& r) { return r.payload == "m"; }));
    EXPECT_EQ(amr1.count("amr/AMR-002/status"), 0u);
    // Nor may AMR-001 publish on AMR-002's topics (3.1.1: PUBACKed, then dropped).
    amr1.publish("amr/AMR-002/cmd", "forged");
    amr2.publish("amr/AMR-002/marker", "m2");
    ASSERT_TRUE(amr2.wait_for([](const auto& r) { return r.payload == "m2"; }));
    EXPECT_EQ(amr2.count("amr/AMR-002/cmd"), 0u);
    EXPECT_NE(broker.log().find("Denied PUBLISH from AMR-001"), std::string::npos) << broker.log();
}

TEST_F(BrokerFixtureTest, CertFromAnotherCaIsRefused) {
    MosquittoBroker broker(pki);
    TestMqttClient client(broker, pki.device("AMR-001", "--ca other"), "AMR-001");
    EXPECT_FALSE(client.connect());
    EXPECT_FALSE(client.last_error().empty());
}

TEST_F(BrokerFixtureTest, ExpiredCertIsRefused) {
    MosquittoBroker broker(pki);
    TestMqttClient client(broker, pki.device("AMR-001", "--expired"), "AMR-001");
    EXPECT_FALSE(client.connect());
}

TEST_F(BrokerFixtureTest, RetainedMessageReachesLateSubscriber) {
    MosquittoBroker broker(pki);
    auto dev = pki.device("AMR-001");
    {
        TestMqttClient pub(broker, dev, "AMR-001-pub");
        ASSERT_TRUE(pub.connect()) << pub.last_error();
        pub.publish("amr/AMR-001/status", "online", 1, true);
    }
    TestMqttClient sub(broker, dev, "AMR-001-sub");
    ASSERT_TRUE(sub.connect()) << sub.last_error();
    sub.subscribe("amr/AMR-001/status");
    auto got = sub.wait_for([](const auto& r) { return r.topic == "amr/AMR-001/status"; });
    ASSERT_TRUE(got);
    EXPECT_EQ(got->payload, "online");
    EXPECT_TRUE(got->retained);
}

TEST_F(BrokerFixtureTest, StopStartKeepsRetainedMessagesAndPort) {
    MosquittoBroker broker(pki);
    auto dev = pki.device("AMR-001");
    const auto port = broker.port();
    {
        TestMqttClient pub(broker, dev, "AMR-001-pub");
        ASSERT_TRUE(pub.connect()) << pub.last_error();
        pub.publish("amr/AMR-001/status", "kept", 1, true);
    }
    broker.stop();
    EXPECT_FALSE(broker.running());
    broker.start();
    EXPECT_EQ(broker.port(), port);
    TestMqttClient sub(broker, dev, "AMR-001-sub");
    ASSERT_TRUE(sub.connect()) << sub.last_error() << "\n" << broker.log();
    sub.subscribe("amr/AMR-001/#");
    auto got = sub.wait_for([](const auto& r) { return r.topic == "amr/AMR-001/status"; });
    ASSERT_TRUE(got) << broker.log();
    EXPECT_EQ(got->payload, "kept");
}

TEST_F(BrokerFixtureTest, KillHardThenRestart) {
    MosquittoBroker broker(pki);
    broker.kill_hard();
    EXPECT_FALSE(broker.running());
    broker.start();
    TestMqttClient client(broker, pki.device("AMR-001"), "AMR-001");
    EXPECT_TRUE(client.connect()) << client.last_error();
}

TEST_F(BrokerFixtureTest, SeveralBrokersInOneProcess) {
    MosquittoBroker a(pki);
    MosquittoBroker b(pki);
    EXPECT_NE(a.port(), b.port());
    auto dev = pki.device("AMR-001");
    TestMqttClient ca(a, dev, "AMR-001");
    TestMqttClient cb(b, dev, "AMR-001");
    EXPECT_TRUE(ca.connect()) << ca.last_error();
    EXPECT_TRUE(cb.connect()) << cb.last_error();
}

TEST_F(BrokerFixtureTest, BrokerThatCannotStartThrowsWithItsLog) {
    MosquittoBroker::Options options;
    options.extra_config = {"no_such_option 1"};
    try {
        MosquittoBroker broker(pki, options);
        FAIL() << "expected the broker to fail";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("no_such_option"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace iotgw::test
