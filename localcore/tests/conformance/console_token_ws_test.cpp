// The browser console's way in: `localcore mosquitto-conf --websockets PORT` adds a TLS websocket
// listener on loopback, where the plugin accepts a console token (`localcore issue-console-token`)
// as the MQTT password and applies the token's policy to every operation, like the policies of a
// device certificate. Driven by a paho MQTT 5 client over wss://. The token is also enforced on the
// live connection: expiry, revocation (`localcore revoke-console-token`) and the websocket
// connection duration cap end it, each with its AWS disconnectReason.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "console_token.hpp"
#include "localcore_fixture.hpp"

namespace localcore::conformance {
namespace {

std::uint16_t free_port() {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        throw std::runtime_error("cannot pick a free loopback port");
    close(fd);
    return ntohs(addr.sin_port);
}

std::int64_t now_s() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

class ConsoleTokenWsTest : public ::testing::Test {
protected:
    void SetUp() override {
        lc = std::make_unique<LocalCore>();
        // The repository's console policy, the one the demo and the browser use.
        lc->cli({"put-policy", "console",
                 (fs::path(LOCALCORE_SOURCE_DIR) / "cloud/policies/console.json").string()});
        ws_port = free_port();
        mqtt_port = free_port();
        std::string conf = lc->cli({"mosquitto-conf", "--port", std::to_string(mqtt_port), "--plugin",
                                    LOCALCORE_PLUGIN, "--websockets", std::to_string(ws_port)});
        // Extra plugin options go right after the generated ones (they belong to the plugin line).
        const std::string last_option = "plugin_opt_mqtt311_unauthorized disconnect\n";
        const auto at = conf.find(last_option);
        ASSERT_NE(at, std::string::npos) << conf;
        conf.insert(at + last_option.size(), extra_plugin_options());
        conf += "log_dest stderr\nlog_type all\n";
        const fs::path conf_path = lc->scratch() / "ws-mosquitto.conf";
        std::ofstream(conf_path) << conf;
        log = lc->scratch() / "ws-mosquitto.log";
        broker = std::make_unique<ChildProcess>(
            std::vector<std::string>{"/usr/sbin/mosquitto", "-c", conf_path.string()}, log);
        ASSERT_TRUE(broker->wait_for(" running", 10s)) << broker->log();
    }
    void TearDown() override {
        observer.reset();
        if (broker) {
            broker->signal(SIGTERM);
            if (broker->wait_exit(5s) < 0) {
                broker->signal(SIGKILL);
                broker->wait_exit(5s);
            }
        }
    }
    virtual std::string extra_plugin_options() const { return ""; }
    std::string token(const std::string& prefix = "console-", std::int64_t issued = now_s(),
                      std::chrono::seconds lifetime = 1h) {
        return issue_console_token(lc->data_dir(), "console", prefix, lifetime, issued);
    }
    std::string token_id(const std::string& token) {
        return verify_console_token(lc->data_dir(), token, now_s()).token_id;
    }
    // A certificate client on the TLS listener (the fixture's console certificate, under the
    // repository's console policy) watching the disconnected events of `client_id`: independent of
    // the websocket connection under test.
    void watch_disconnections(const std::string& client_id) {
        observer = std::make_unique<TestMqttClient>(
            TestMqttClient::Endpoint{"localhost", mqtt_port, lc->ca(), lc->console.cert, lc->console.key},
            "console-observer", 5);
        ASSERT_TRUE(observer->connect()) << observer->last_error() << "\n" << broker->log();
        observer->subscribe("$aws/events/presence/disconnected/" + client_id);
    }
    // Waits (bounded) until the probe is disconnected; then its disconnected event, parsed.
    rapidjson::Document disconnected_event(Mqtt5Probe& probe, const std::string& client_id,
                                           std::chrono::seconds limit = 20s) {
        const auto end = std::chrono::steady_clock::now() + limit;
        while (probe.connected() && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(50ms);
        EXPECT_FALSE(probe.connected()) << "still connected after " << limit.count() << " s\n" << broker->log();
        const auto event = observer->wait_for(
            [&](const TestMqttClient::Received& m) {
                return m.topic == "$aws/events/presence/disconnected/" + client_id;
            },
            5s);
        if (!event) {
            ADD_FAILURE() << "no disconnected event for " << client_id << "\n" << broker->log();
            return rapidjson::Document();
        }
        return parse_json(event->payload);
    }
    std::unique_ptr<LocalCore> lc;
    std::unique_ptr<ChildProcess> broker;
    std::unique_ptr<TestMqttClient> observer;
    fs::path log;
    std::uint16_t ws_port = 0;
    std::uint16_t mqtt_port = 0;
};

TEST_F(ConsoleTokenWsTest, TheConfigHasALoopbackTlsWebsocketListener) {
    const std::string conf =
        lc->cli({"mosquitto-conf", "--plugin", LOCALCORE_PLUGIN, "--websockets", "18884"});
    EXPECT_NE(conf.find("listener 18884 lo\nprotocol websockets\n"), std::string::npos) << conf;
    EXPECT_NE(conf.find("certfile " + (lc->data_dir() / "ca/server.pem").string()), std::string::npos);
    const auto same =
        lc->cli_result({"mosquitto-conf", "--plugin", LOCALCORE_PLUGIN, "--websockets", "8883"});
    EXPECT_EQ(same.status, 2);
    EXPECT_NE(same.output.find("--websockets must differ from --port"), std::string::npos) << same.output;
}

TEST_F(ConsoleTokenWsTest, AValidTokenConnectsAndItsPolicyIsEnforced) {
    Mqtt5Probe c(Mqtt5Probe::WebSocket{ws_port, lc->ca()}, "console-ws-1");
    ASSERT_EQ(c.connect("console-token", token()), "");
    // cloud/policies/console.json: subscribe to amr/* and the robot shadow, publish calls and GETs.
    EXPECT_LT(c.subscribe("amr/AMR-001/status"), 0x80);
    EXPECT_LT(c.subscribe("$aws/things/AMR-001/shadow/name/robot/get/accepted"), 0x80);
    EXPECT_EQ(c.subscribe("other/topic"), 0x87);
    EXPECT_EQ(c.publish_qos1("amr/AMR-001/cmd/call", R"({"id":"c1","ts":1})"), 0);
    EXPECT_EQ(c.publish_qos1("$aws/things/AMR-001/shadow/name/robot/get", "{}"), 0);
    EXPECT_EQ(c.publish_qos1("amr/AMR-001/status", R"({"state":"idle"})"),
              0x87);  // only the AMR reports status
    EXPECT_EQ(c.publish_qos1("$aws/things/AMR-001/shadow/name/robot/update", "{}"), 0x87);
    EXPECT_TRUE(broker->wait_for("denied PUBLISH 'amr/AMR-001/status'", 5s)) << broker->log();
}

TEST_F(ConsoleTokenWsTest, AnExpiredTokenIsRefused) {
    Mqtt5Probe c(Mqtt5Probe::WebSocket{ws_port, lc->ca()}, "console-ws-2");
    EXPECT_NE(c.connect("console-token", token("console-", now_s() - 7200, 1h)), "");
    EXPECT_TRUE(broker->wait_for("console token expired at", 5s)) << broker->log();
}

TEST_F(ConsoleTokenWsTest, ABadSignatureIsRefused) {
    std::string t = token();
    // The signature's first character (all 6 bits are signature; the last one has unused bits).
    const auto sig = t.rfind('.') + 1;
    t[sig] = t[sig] == 'A' ? 'B' : 'A';
    Mqtt5Probe c(Mqtt5Probe::WebSocket{ws_port, lc->ca()}, "console-ws-3");
    EXPECT_NE(c.connect("console-token", t), "");
    EXPECT_TRUE(broker->wait_for("bad signature", 5s)) << broker->log();
}

TEST_F(ConsoleTokenWsTest, AClientIdOutsideTheTokensPrefixIsRefused) {
    Mqtt5Probe c(Mqtt5Probe::WebSocket{ws_port, lc->ca()}, "AMR-001");
    EXPECT_NE(c.connect("console-token", token()), "");
    EXPECT_TRUE(broker->wait_for("does not start with 'console-'", 5s)) << broker->log();
}

TEST_F(ConsoleTokenWsTest, ThePolicysConnectRuleStillApplies) {
    // The token allows any id starting with "ops-"; console.json allows Connect only as console-*.
    Mqtt5Probe c(Mqtt5Probe::WebSocket{ws_port, lc->ca()}, "ops-1");
    EXPECT_NE(c.connect("console-token", token("ops-")), "");
    EXPECT_TRUE(broker->wait_for("refused connection of 'ops-1'", 5s)) << broker->log();
}

TEST_F(ConsoleTokenWsTest, NoTokenNoConnection) {
    Mqtt5Probe c(Mqtt5Probe::WebSocket{ws_port, lc->ca()}, "console-ws-4");
    EXPECT_NE(c.connect("console-token", ""), "");
    EXPECT_TRUE(broker->wait_for("no console token", 5s)) << broker->log();
}

// Issue 16 finding 4: a token is enforced on the live connection, not only at CONNECT. AWS's
// closest analogue is a custom authorizer's disconnectAfterInSeconds, reported as
// CUSTOMAUTH_TTL_EXPIRATION.
TEST_F(ConsoleTokenWsTest, ATokenThatExpiresWhileConnectedDisconnectsItsConnection) {
    watch_disconnections("console-ws-exp");
    // Valid for 5 more seconds: issued (in the past) for one hour.
    const std::string t = token("console-", now_s() - 3600 + 5, 1h);
    const std::string id = token_id(t);
    Mqtt5Probe c(Mqtt5Probe::WebSocket{ws_port, lc->ca()}, "console-ws-exp");
    ASSERT_EQ(c.connect("console-token", t), "");
    const auto e = disconnected_event(c, "console-ws-exp");
    EXPECT_EQ(json_str(e, {"disconnectReason"}), "CUSTOMAUTH_TTL_EXPIRATION");
    EXPECT_EQ(json_str(e, {"principalIdentifier"}), "console-token/" + id);
    EXPECT_TRUE(broker->wait_for("its console token expired", 5s)) << broker->log();
    // The same token cannot come back.
    Mqtt5Probe again(Mqtt5Probe::WebSocket{ws_port, lc->ca()}, "console-ws-exp");
    EXPECT_NE(again.connect("console-token", t), "");
}

TEST_F(ConsoleTokenWsTest, ARevokedTokenIsDisconnectedAndRefusedFromThenOn) {
    watch_disconnections("console-ws-rev");
    const std::string t = token();
    const std::string id = token_id(t);
    Mqtt5Probe c(Mqtt5Probe::WebSocket{ws_port, lc->ca()}, "console-ws-rev");
    ASSERT_EQ(c.connect("console-token", t), "");
    // The operator names it as the lifecycle events do (principalIdentifier).
    const std::string out = lc->cli({"revoke-console-token", "--id", "console-token/" + id});
    EXPECT_NE(out.find(id), std::string::npos) << out;
    const auto e = disconnected_event(c, "console-ws-rev");
    EXPECT_EQ(json_str(e, {"disconnectReason"}), "AUTH_ERROR");
    EXPECT_EQ(json_str(e, {"principalIdentifier"}), "console-token/" + id);
    EXPECT_TRUE(broker->wait_for("its console token " + id + " was revoked", 5s)) << broker->log();

    Mqtt5Probe again(Mqtt5Probe::WebSocket{ws_port, lc->ca()}, "console-ws-rev");
    EXPECT_NE(again.connect("console-token", t), "");
    EXPECT_TRUE(broker->wait_for("console token " + id + " was revoked at", 5s)) << broker->log();
    // Another token (what the console fetches next) still connects.
    Mqtt5Probe fresh(Mqtt5Probe::WebSocket{ws_port, lc->ca()}, "console-ws-rev");
    EXPECT_EQ(fresh.connect("console-token", token()), "");
    const std::string listed = lc->cli({"revoked-console-tokens"});
    EXPECT_NE(listed.find(id + " revoked_at="), std::string::npos) << listed;
    EXPECT_NE(lc->cli({"revoke-console-token", "--id", id}).find("already revoked"), std::string::npos);
    const auto bad = lc->cli_result({"revoke-console-token", "--id", "console-ws-rev"});
    EXPECT_EQ(bad.status, 2);
    EXPECT_NE(bad.output.find("'console-ws-rev' is not a console token id"), std::string::npos) << bad.output;
}

// AWS closes a SigV4 (websocket) connection after 24 hours; the broker option shortens that here.
class ConsoleTokenWsCapTest : public ConsoleTokenWsTest {
protected:
    std::string extra_plugin_options() const override { return "plugin_opt_max_websocket_connection_s 2\n"; }
};

TEST_F(ConsoleTokenWsCapTest, AWebsocketConnectionEndsAtTheConnectionDurationCap) {
    auto device = std::make_unique<TestMqttClient>(
        TestMqttClient::Endpoint{"localhost", mqtt_port, lc->ca(), lc->amr1.cert, lc->amr1.key}, "AMR-001");
    ASSERT_TRUE(device->connect()) << device->last_error();
    watch_disconnections("+");
    Mqtt5Probe c(Mqtt5Probe::WebSocket{ws_port, lc->ca()}, "console-ws-cap");
    ASSERT_EQ(c.connect("console-token", token()), "");  // a token valid for an hour
    const auto e = disconnected_event(c, "console-ws-cap");
    EXPECT_EQ(json_str(e, {"disconnectReason"}), "WEBSOCKET_TTL_EXPIRATION");
    EXPECT_TRUE(broker->wait_for("connected for 2 s, the websocket connection limit", 5s)) << broker->log();
    // Certificate (MQTT over TLS) connections have no such cap; this one is older than the kicked one.
    EXPECT_TRUE(device->connected());
    EXPECT_EQ(observer->count("$aws/events/presence/disconnected/AMR-001"), 0u);
}

}  // namespace
}  // namespace localcore::conformance
