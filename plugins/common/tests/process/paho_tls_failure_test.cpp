// A TLS failure that paho detects on its own thread, after connect() has returned, must be
// reported through the connect token without paho calling back into memory that is gone.
//
// paho.mqtt.cpp's async_client::connect() takes its connect_options by value, and the C library
// keeps the SSL error callback's context pointer, which points into that by-value copy: once
// connect() has returned, the context is a dead stack slot. Any OpenSSL error on the connection
// (a failed handshake, a broker restart under load) then made paho call a std::function read from
// that slot; in the 1-hour soak the gateway died that way (SIGSEGV on the MQTTAsync_rcv thread).
#include <iotgw/plugins/common/paho_compat.hpp>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

namespace {

namespace paho = iotgw::plugins::common::paho;
using namespace std::chrono_literals;

// A loopback listener that answers every connection with bytes that are not TLS, so the client's
// handshake fails with an OpenSSL error ("wrong version number" or similar).
class NotTlsServer {
public:
    NotTlsServer() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(fd_, 4) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
            std::abort();
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] {
            for (int i = 0; i < 4; ++i) {  // bounded: the test makes one or two connections
                const int c = ::accept(fd_, nullptr, nullptr);
                if (c < 0) return;
                const std::string junk(4096, 'x');
                (void)!::write(c, junk.data(), junk.size());
                std::this_thread::sleep_for(200ms);
                ::close(c);
            }
        });
    }
    ~NotTlsServer() {
        ::shutdown(fd_, SHUT_RDWR);
        ::close(fd_);
        thread_.join();
    }
    int port() const { return port_; }

private:
    int fd_ = -1;
    int port_ = 0;
    std::thread thread_;
};

class Listener : public ::mqtt::iaction_listener {
public:
    void on_success(const ::mqtt::token&) override {}
    void on_failure(const ::mqtt::token&) override {}
};

// Overwrites the stack below the caller's frame, where connect()'s by-value options lived.
[[gnu::noinline]] void overwrite_dead_stack() {
    volatile unsigned char junk[64 * 1024];
    for (auto& b : junk) b = 0xA5;
}

// Connects to the server, then keeps overwriting the dead stack while paho's thread does the
// handshake; exits 0 once paho has reported the failure.
[[noreturn]] void connect_to_not_tls_and_exit() {
    NotTlsServer server;
    auto client = paho::make_client({.server_uri = "ssl://127.0.0.1:" + std::to_string(server.port()),
                                     .client_id = "tls-failure-test",
                                     .mqtt5 = true,
                                     .max_buffered = 10});
    Listener listener;
    paho::TlsSettings tls;
    const auto tok = paho::connect(*client, paho::ConnectSettings{}, paho::make_ssl(tls), nullptr, listener);
    for (int i = 0; i < 5000 && !tok->is_complete(); ++i) {
        overwrite_dead_stack();
        std::this_thread::sleep_for(1ms);
    }
    const bool failed = tok->is_complete() && tok->get_return_code() != 0;
    client.reset();
    std::_Exit(failed ? 0 : 3);
}

TEST(PahoTlsFailure, AHandshakeFailureAfterConnectReturnedIsReportedWithoutCrashing) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_EXIT(connect_to_not_tls_and_exit(), ::testing::ExitedWithCode(0), "");
}

}  // namespace
