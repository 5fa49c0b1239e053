// The browser console's way in: `localcore mosquitto-conf --websockets PORT` adds a TLS websocket
// listener on loopback, where the plugin accepts a console token (`localcore issue-console-token`)
// as the MQTT password and applies the token's policy to every operation, like the policies of a
// device certificate. Driven by a paho MQTT 5 client over wss://.
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
        const std::uint16_t mqtt_port = free_port();
        std::string conf = lc->cli({"mosquitto-conf", "--port", std::to_string(mqtt_port), "--plugin",
                                    LOCALCORE_PLUGIN, "--websockets", std::to_string(ws_port)});
        conf += "log_dest stderr\nlog_type all\n";
        const fs::path conf_path = lc->scratch() / "ws-mosquitto.conf";
        std::ofstream(conf_path) << conf;
        log = lc->scratch() / "ws-mosquitto.log";
        broker = std::make_unique<ChildProcess>(
            std::vector<std::string>{"/usr/sbin/mosquitto", "-c", conf_path.string()}, log);
        ASSERT_TRUE(broker->wait_for(" running", 10s)) << broker->log();
    }
    void TearDown() override {
        if (broker) {
            broker->signal(SIGTERM);
            if (broker->wait_exit(5s) < 0) {
                broker->signal(SIGKILL);
                broker->wait_exit(5s);
            }
        }
    }
    std::string token(const std::string& prefix = "console-", std::int64_t issued = now_s(),
                      std::chrono::seconds lifetime = 1h) {
        return issue_console_token(lc->data_dir(), "console", prefix, lifetime, issued);
    }
    std::unique_ptr<LocalCore> lc;
    std::unique_ptr<ChildProcess> broker;
    fs::path log;
    std::uint16_t ws_port = 0;
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

}  // namespace
}  // namespace localcore::conformance
