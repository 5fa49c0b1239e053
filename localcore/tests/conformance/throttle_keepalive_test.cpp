// Two AWS IoT Core connection limits (docs/aws-iot-core.md sections 3.2 and 3.5):
// - at most 100 PUBLISH requests per second per connection: over it a PUBLISH is refused and dropped
//   but the connection stays open (localcore: plugin_opt_publish_rate_per_second, lowered here);
// - keep-alive 30..1200 s: an MQTT 5 client asking for 0 or more than 1200 s is told 1200 s in the
//   CONNACK's Server Keep Alive.
#include <gtest/gtest.h>

#include <mqtt/async_client.h>

#include <thread>

#include "localcore_fixture.hpp"
#include "scratch_broker.hpp"

namespace localcore::conformance {
namespace {

TEST(ConformanceThrottle, PublishesOverTheRateAreRefusedAndTheConnectionStays) {
    LocalCore lc;
    ScratchBroker broker(lc, {"plugin_opt_publish_rate_per_second 2"});
    Mqtt5Probe probe(TestMqttClient::Endpoint{"localhost", broker.port(), lc.ca(), lc.amr1.cert, lc.amr1.key},
                     "AMR-001");
    ASSERT_EQ(probe.connect(), "");

    // 30 back to back: at 2 per second (burst 2) most are refused, unless this took 14 s.
    int accepted = 0, refused = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 30; ++i) {
        const int rc = probe.publish_qos1("amr/AMR-001/telemetry", "{}");
        if (rc == 0) ++accepted;
        if (rc == 0x87) ++refused;
    }
    const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(accepted + refused, 30);
    EXPECT_LE(accepted, 2 + static_cast<int>(seconds * 2) + 1) << seconds << " s";
    EXPECT_GT(refused, 0);
    EXPECT_TRUE(probe.connected());
    EXPECT_TRUE(broker.wait_log("localcore: throttled PUBLISH on 'amr/AMR-001/telemetry' from 'AMR-001'"))
        << broker.log();

    // A second later the connection may publish again.
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    EXPECT_EQ(probe.publish_qos1("amr/AMR-001/telemetry", "{}"), 0);
}

TEST(ConformanceThrottle, TheDefaultRateLetsTheGatewaysUsualTrafficThrough) {
    // 20 QoS 1 publishes back to back are far below 100 per second's burst.
    LocalCore lc;
    ScratchBroker broker(lc);
    Mqtt5Probe probe(TestMqttClient::Endpoint{"localhost", broker.port(), lc.ca(), lc.amr1.cert, lc.amr1.key},
                     "AMR-001");
    ASSERT_EQ(probe.connect(), "");
    for (int i = 0; i < 20; ++i) EXPECT_EQ(probe.publish_qos1("amr/AMR-001/telemetry", "{}"), 0) << i;
}

// The Server Keep Alive of the CONNACK for an MQTT 5 CONNECT asking for `keepalive`; nullopt when
// the CONNACK has none (the client's value stands).
std::optional<int> server_keep_alive(const LocalCore& lc, std::chrono::seconds keepalive, std::string& error) {
    auto opts = mqtt::create_options_builder().mqtt_version(5).finalize();
#if __has_include(<mqtt/event.h>)
    mqtt::async_client client("ssl://localhost:" + std::to_string(lc.port()), "AMR-001", opts, mqtt::NO_PERSISTENCE);
#else
    mqtt::async_client client("ssl://localhost:" + std::to_string(lc.port()), "AMR-001", opts,
                              static_cast<mqtt::iclient_persistence*>(nullptr));
#endif
    mqtt::ssl_options_builder ssl;
    ssl.trust_store(lc.ca().string()).verify(true).key_store(lc.amr1.cert.string()).private_key(lc.amr1.key.string());
    auto connect = mqtt::connect_options_builder()
                       .mqtt_version(5)
                       .clean_start(true)
                       .connect_timeout(std::chrono::seconds(5))
                       .keep_alive_interval(keepalive)
                       .ssl(ssl.finalize())
                       .finalize();
    try {
        auto tok = client.connect(connect);
        if (!tok->wait_for(std::chrono::seconds(10))) {
            error = "no CONNACK";
            return std::nullopt;
        }
        const auto props = tok->get_connect_response().get_properties();
        std::optional<int> out;
        if (props.contains(mqtt::property::SERVER_KEEP_ALIVE))
            out = mqtt::get<std::uint16_t>(props, mqtt::property::SERVER_KEEP_ALIVE);
        client.disconnect()->wait_for(std::chrono::seconds(2));
        return out;
    } catch (const mqtt::exception& e) {
        error = e.what();
        return std::nullopt;
    }
}

using ConformanceKeepAlive = LocalCoreTest;

TEST_F(ConformanceKeepAlive, ZeroAndOver1200AreAnsweredWith1200) {
    for (const auto asked : {std::chrono::seconds(0), std::chrono::seconds(1201), std::chrono::seconds(3600)}) {
        std::string error;
        const auto told = server_keep_alive(*lc, asked, error);
        ASSERT_EQ(error, "") << lc->broker_log();
        EXPECT_EQ(told, std::optional<int>(1200)) << "asked " << asked.count() << " s";
    }
}

TEST_F(ConformanceKeepAlive, AValueInTheAwsRangeStands) {
    for (const auto asked : {std::chrono::seconds(30), std::chrono::seconds(1200)}) {
        std::string error;
        const auto told = server_keep_alive(*lc, asked, error);
        ASSERT_EQ(error, "") << lc->broker_log();
        EXPECT_EQ(told, std::nullopt) << "asked " << asked.count() << " s";
    }
}

}  // namespace
}  // namespace localcore::conformance
