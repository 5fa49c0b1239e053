// How the mqtt connection classifies a failed connect attempt in its link event, with real paho
// against real endpoints on loopback: whether the broker was reached and refused this identity
// (`refusals` grows: fleet_provisioning replaces the certificate after `recover_after` of them)
// or was not reached or did not answer (`refusals` stays 0: an outage or a reconnect storm must
// not make a fleet re-provision).
//   - nothing listening on the port: a network failure;
//   - a listener that closes during the TLS handshake (a load balancer without a backend): a
//     network failure, and the gateway keeps running (paho.mqtt.cpp 1.2 crashed in its TLS error
//     callback here);
//   - localcore refusing an INACTIVE certificate in its CONNACK (MQTT 5 0x87, 3.1.1 code 5): a refusal;
//   - a TLS server that completes the handshake, reads CONNECT and hangs up without a CONNACK,
//     which is how AWS IoT Core answers an inactive or revoked certificate: a refusal.
// The gateway runs in process (GatewayHarness); its link events reach the log through an `events`
// source and the fixture sink. Every wait is bounded; the stand-in servers are threads that end
// with the test.
#include "gateway_harness.hpp"
#include "localcore_fixture.hpp"
#include "scratch_broker.hpp"

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <poll.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace localcore::conformance {
namespace {

using iotgw::test::GatewayHarness;

constexpr auto kLong = std::chrono::milliseconds(20000);

// A loopback listener on a free port that treats every connection the same way, on its own
// thread, until destroyed.
class StandInServer {
public:
    enum class Mode {
        close_at_once,         // accept and close: the TLS handshake fails half way
        hang_up_after_connect  // TLS handshake (asking for a client certificate), read CONNECT, close
    };

    StandInServer(Mode mode, const fs::path& cert, const fs::path& key) : mode_(mode) {
        fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            listen(fd_, 8) != 0 || getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
            throw std::runtime_error("cannot listen on loopback");
        port_ = ntohs(addr.sin_port);
        if (mode_ == Mode::hang_up_after_connect) {
            ctx_ = SSL_CTX_new(TLS_server_method());
            if (ctx_ == nullptr || SSL_CTX_use_certificate_chain_file(ctx_, cert.c_str()) != 1 ||
                SSL_CTX_use_PrivateKey_file(ctx_, key.c_str(), SSL_FILETYPE_PEM) != 1)
                throw std::runtime_error("cannot load the server certificate " + cert.string());
            // Ask for the client's certificate, as AWS does, and take any: the refusal comes later.
            SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
        }
        thread_ = std::thread([this] { serve(); });
    }
    ~StandInServer() {
        stop_ = true;
        thread_.join();
        close(fd_);
        if (ctx_ != nullptr) SSL_CTX_free(ctx_);
    }
    StandInServer(const StandInServer&) = delete;
    StandInServer& operator=(const StandInServer&) = delete;

    std::uint16_t port() const { return port_; }
    int connects_read() const { return connects_read_; }  // CONNECT packets read before hanging up

private:
    void serve() {
        while (!stop_) {
            pollfd p{fd_, POLLIN, 0};
            if (poll(&p, 1, 100) <= 0) continue;
            const int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) continue;
            if (mode_ == Mode::hang_up_after_connect) {
                timeval t{5, 0};  // bounded: a client that stops talking does not hold the thread
                setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &t, sizeof t);
                SSL* ssl = SSL_new(ctx_);
                SSL_set_fd(ssl, c);
                unsigned char first = 0;
                if (SSL_accept(ssl) == 1 && SSL_read(ssl, &first, 1) == 1 && first == 0x10) ++connects_read_;
                SSL_free(ssl);  // no close_notify, no CONNACK: the connection just ends
            }
            close(c);
        }
    }

    Mode mode_;
    int fd_ = -1;
    std::uint16_t port_ = 0;
    SSL_CTX* ctx_ = nullptr;
    std::atomic<bool> stop_{false};
    std::atomic<int> connects_read_{0};
    std::thread thread_;
};

// Every case with both client libraries (the connection's `client`): the classification must not
// depend on which one reports the failure.
class MqttConnectRefusal : public ::testing::TestWithParam<const char*> {
protected:
    LocalCore lc;
    GatewayHarness h;

    // The gateway as AMR-001 with `who`'s certificate, its connection "cloud" to localhost:`port`
    // (fast reconnects), the link events logged as "received events/link {...}".
    std::string config(const Identity& who, std::uint16_t port, const std::string& version = "5") const {
        return R"(
[gateway]
thing = "AMR-001"
[credentials.dev]
type = "file"
cert = ")" + who.cert.string() +
               R"("
key = ")" + who.key.string() +
               R"("
ca = ")" + lc.ca().string() +
               R"("
[connections.cloud]
type = "mqtt"
endpoint = "localhost"
port = )" + std::to_string(port) +
               R"(
credentials = "dev"
mqtt_version = ")" +
               version +
               R"("
client = ")" + GetParam() +
               R"("
reconnect_min = "100ms"
reconnect_max = "300ms"
connect_timeout = "5s"
[sources.links]
type = "events"
events = ["$iotgw/instance/cloud/link"]
topic = "events/{event}"
[sinks.seen]
type = "fixture_sink"
[[pipelines]]
name = "links"
from = "links"
to = ["seen"]
)";
    }

    // The link events of failed attempts so far, in order.
    std::vector<rapidjson::Document> failed_attempts() {
        std::vector<rapidjson::Document> out;
        const std::string marker = "received events/link ";
        for (const auto& line : h.lines_with(marker)) {
            rapidjson::Document d = parse_json(line.substr(line.find(marker) + marker.size()));
            if (d.IsObject() && json_has(d, {"failures"})) out.push_back(std::move(d));
        }
        return out;
    }

    // Runs until `n` attempts have failed; returns their link events.
    std::vector<rapidjson::Document> wait_failed_attempts(std::size_t n) {
        EXPECT_TRUE(h.run_until([&] { return failed_attempts().size() >= n; }, kLong)) << h.log().joined();
        return failed_attempts();
    }

    // Every failed attempt was of `kind` and counted (or not) as a refusal of the identity.
    void expect_all(const std::vector<rapidjson::Document>& events, const std::string& kind, bool refusal) {
        ASSERT_FALSE(events.empty());
        for (std::size_t i = 0; i < events.size(); ++i) {
            const auto& e = events[i];
            EXPECT_EQ(json_str(e, {"last_failure"}).value_or("(none)"), kind) << h.log().joined();
            EXPECT_EQ(json_int(e, {"failures"}).value_or(-1), static_cast<std::int64_t>(i + 1));
            EXPECT_EQ(json_int(e, {"refusals"}).value_or(-1), refusal ? static_cast<std::int64_t>(i + 1) : 0)
                << "attempt " << i + 1 << " of kind " << kind << "\n"
                << h.log().joined();
        }
    }
};

TEST_P(MqttConnectRefusal, AClosedLoopbackPortIsANetworkFailureNotARefusal) {
    ASSERT_EQ(h.start(config(lc.amr1, free_loopback_port())), "") << h.log().joined();
    expect_all(wait_failed_attempts(3), "network", false);
}

TEST_P(MqttConnectRefusal, AListenerThatClosesDuringTheTlsHandshakeIsNotARefusalAndTheGatewayKeepsRunning) {
    StandInServer lb(StandInServer::Mode::close_at_once, {}, {});
    ASSERT_EQ(h.start(config(lc.amr1, lb.port())), "") << h.log().joined();
    expect_all(wait_failed_attempts(3), "network", false);
}

TEST_P(MqttConnectRefusal, AnInactiveCertificateIsRefusedInTheConnackMqtt5) {
    lc.start_broker();
    const Identity inactive = lc.issue_cert("AMR-001", "device", "INACTIVE");
    ASSERT_EQ(h.start(config(inactive, lc.port(), "5")), "") << h.log().joined();
    expect_all(wait_failed_attempts(3), "not_authorized", true);
    EXPECT_TRUE(h.log().contains("CONNACK 0x87")) << h.log().joined();
}

TEST_P(MqttConnectRefusal, ARevokedCertificateIsRefusedInTheConnackMqtt311) {
    lc.start_broker();
    const Identity revoked = lc.issue_cert("AMR-001");
    lc.cli({"set-cert-status", revoked.cert_id, "REVOKED"});
    ASSERT_EQ(h.start(config(revoked, lc.port(), "3.1.1")), "") << h.log().joined();
    expect_all(wait_failed_attempts(3), "not_authorized", true);
    EXPECT_TRUE(h.log().contains("CONNACK return code 5")) << h.log().joined();
}

TEST_P(MqttConnectRefusal, ABrokerThatHangsUpAfterConnectWithoutAConnackRefusesTheIdentity) {
    StandInServer aws(StandInServer::Mode::hang_up_after_connect, lc.data_dir() / "ca" / "server.pem",
                      lc.data_dir() / "ca" / "server.key");
    ASSERT_EQ(h.start(config(lc.amr1, aws.port())), "") << h.log().joined();
    expect_all(wait_failed_attempts(3), "closed_before_connack", true);
    EXPECT_GE(aws.connects_read(), 3) << "the gateway's CONNECT never reached the stand-in";
}

TEST_P(MqttConnectRefusal, AConnectAfterRefusalsStartsTheCountAgain) {
    lc.start_broker();
    const Identity later = lc.issue_cert("AMR-001", "device", "INACTIVE");
    ASSERT_EQ(h.start(config(later, lc.port())), "") << h.log().joined();
    const auto refused = wait_failed_attempts(2);
    ASSERT_EQ(json_int(refused.back(), {"refusals"}).value_or(-1), 2) << h.log().joined();
    lc.cli({"set-cert-status", later.cert_id, "ACTIVE"});
    ASSERT_TRUE(h.run_until_logged("received events/link {\"connected\":true", kLong)) << h.log().joined();
    // Now the broker goes away: the refusals ended with the connect, and an outage adds none.
    lc.stop_broker();
    ASSERT_TRUE(h.run_until(
        [&] {
            const auto all = failed_attempts();
            return all.size() >= refused.size() + 2;
        },
        kLong))
        << h.log().joined();
    const auto all = failed_attempts();
    for (std::size_t i = refused.size(); i < all.size(); ++i)
        EXPECT_EQ(json_int(all[i], {"refusals"}).value_or(-1), 0) << h.log().joined();
}

INSTANTIATE_TEST_SUITE_P(Clients, MqttConnectRefusal, ::testing::Values("paho-async", "paho-sync"),
                         [](const auto& p) {
                             return std::string(p.param) == "paho-sync" ? "sync" : "async";
                         });

}  // namespace
}  // namespace localcore::conformance
