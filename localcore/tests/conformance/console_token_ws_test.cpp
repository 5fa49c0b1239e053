// The browser console's way in: `localcore mosquitto-conf --websockets PORT` adds a TLS websocket
// listener on loopback, where the plugin accepts a console token (`localcore issue-console-token`)
// as the MQTT password and applies the token's policy to every operation, like the policies of a
// device certificate. Driven by a paho MQTT 5 client over wss://.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mqtt/async_client.h>

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

// A paho MQTT 5 client over wss:// with a username and password.
class WsClient {
public:
    WsClient(std::uint16_t port, const std::string& client_id, const fs::path& ca) : ca_(ca) {
        auto opts = mqtt::create_options_builder().mqtt_version(5).finalize();
        const std::string uri = "wss://localhost:" + std::to_string(port) + "/mqtt";
#if __has_include(<mqtt/event.h>)  // paho.mqtt.cpp >= 1.5: persistence is a variant
        client_ = std::make_unique<mqtt::async_client>(uri, client_id, opts, mqtt::NO_PERSISTENCE);
#else
        client_ = std::make_unique<mqtt::async_client>(uri, client_id, opts,
                                                       static_cast<mqtt::iclient_persistence*>(nullptr));
#endif
    }
    ~WsClient() {
        try {
            if (client_->is_connected()) client_->disconnect()->wait_for(2s);
        } catch (...) {
            // The broker may have closed the connection already.
        }
    }
    // "" on success, else paho's error.
    std::string connect(const std::string& password) {
        auto ssl = mqtt::ssl_options_builder().trust_store(ca_.string()).verify(true).finalize();
        mqtt::connect_options_builder builder;
        builder.mqtt_version(5);
        builder.clean_start(true);
        builder.user_name("console-token");
        builder.password(password);
        builder.connect_timeout(5s).keep_alive_interval(30s).ssl(ssl);
        try {
            if (!client_->connect(builder.finalize())->wait_for(5s)) return "no CONNACK within 5 s";
            return "";
        } catch (const mqtt::exception& e) {
            return e.what();
        }
    }
    int subscribe(const std::string& filter) {
        try {
            auto tok = client_->subscribe(filter, 1);
            if (!tok->wait_for(10s)) return -1;
            const auto codes = tok->get_subscribe_response().get_reason_codes();
            return codes.empty() ? tok->get_reason_code() : codes.front();
        } catch (const mqtt::exception& e) {
            return e.get_reason_code();
        }
    }
    int publish(const std::string& topic, const std::string& payload) {
        try {
            auto tok = client_->publish(topic, payload.data(), payload.size(), 1, false);
            if (!tok->wait_for(10s)) return -1;
            return tok->get_reason_code();
        } catch (const mqtt::exception& e) {
            return e.get_reason_code();
        }
    }

private:
    fs::path ca_;
    std::unique_ptr<mqtt::async_client> client_;
};

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
    WsClient c(ws_port, "console-ws-1", lc->ca());
    ASSERT_EQ(c.connect(token()), "");
    // cloud/policies/console.json: subscribe to amr/* and the robot shadow, publish calls and GETs.
    EXPECT_LT(c.subscribe("amr/AMR-001/status"), 0x80);
    EXPECT_LT(c.subscribe("$aws/things/AMR-001/shadow/name/robot/get/accepted"), 0x80);
    EXPECT_EQ(c.subscribe("other/topic"), 0x87);
    EXPECT_EQ(c.publish("amr/AMR-001/cmd/call", R"({"id":"c1","ts":1})"), 0);
    EXPECT_EQ(c.publish("$aws/things/AMR-001/shadow/name/robot/get", "{}"), 0);
    EXPECT_EQ(c.publish("amr/AMR-001/status", R"({"state":"idle"})"), 0x87);  // only the AMR reports status
    EXPECT_EQ(c.publish("$aws/things/AMR-001/shadow/name/robot/update", "{}"), 0x87);
    EXPECT_TRUE(broker->wait_for("denied PUBLISH 'amr/AMR-001/status'", 5s)) << broker->log();
}

TEST_F(ConsoleTokenWsTest, AnExpiredTokenIsRefused) {
    WsClient c(ws_port, "console-ws-2", lc->ca());
    EXPECT_NE(c.connect(token("console-", now_s() - 7200, 1h)), "");
    EXPECT_TRUE(broker->wait_for("console token expired at", 5s)) << broker->log();
}

TEST_F(ConsoleTokenWsTest, ABadSignatureIsRefused) {
    std::string t = token();
    // The signature's first character (all 6 bits are signature; the last one has unused bits).
    const auto sig = t.rfind('.') + 1;
    t[sig] = t[sig] == 'A' ? 'B' : 'A';
    WsClient c(ws_port, "console-ws-3", lc->ca());
    EXPECT_NE(c.connect(t), "");
    EXPECT_TRUE(broker->wait_for("bad signature", 5s)) << broker->log();
}

TEST_F(ConsoleTokenWsTest, AClientIdOutsideTheTokensPrefixIsRefused) {
    WsClient c(ws_port, "AMR-001", lc->ca());
    EXPECT_NE(c.connect(token()), "");
    EXPECT_TRUE(broker->wait_for("does not start with 'console-'", 5s)) << broker->log();
}

TEST_F(ConsoleTokenWsTest, ThePolicysConnectRuleStillApplies) {
    // The token allows any id starting with "ops-"; console.json allows Connect only as console-*.
    WsClient c(ws_port, "ops-1", lc->ca());
    EXPECT_NE(c.connect(token("ops-")), "");
    EXPECT_TRUE(broker->wait_for("refused connection of 'ops-1'", 5s)) << broker->log();
}

TEST_F(ConsoleTokenWsTest, NoTokenNoConnection) {
    WsClient c(ws_port, "console-ws-4", lc->ca());
    EXPECT_NE(c.connect(""), "");
    EXPECT_TRUE(broker->wait_for("no console token", 5s)) << broker->log();
}

}  // namespace
}  // namespace localcore::conformance
