#include "raw_mqtt.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <csignal>
#include <cstring>

namespace localcore::conformance {

namespace raw {
namespace {

std::string u16(std::size_t n) {
    return {static_cast<char>((n >> 8) & 0xFF), static_cast<char>(n & 0xFF)};
}

std::string utf8(const std::string& s) { return u16(s.size()) + s; }

std::string packet(std::uint8_t header, const std::string& body) {
    return std::string(1, static_cast<char>(header)) + encode_remaining_length(body.size()) + body;
}

}  // namespace

std::string encode_remaining_length(std::size_t n) {
    std::string out;
    do {
        auto byte = static_cast<std::uint8_t>(n % 128);
        n /= 128;
        if (n > 0) byte |= 0x80;
        out.push_back(static_cast<char>(byte));
    } while (n > 0);
    return out;
}

std::string connect_packet(const Connect& c) {
    std::uint8_t flags = 0x02;  // clean session / clean start
    if (c.will) {
        flags |= 0x04;
        flags |= static_cast<std::uint8_t>((c.will->qos & 3) << 3);
        if (c.will->retain) flags |= 0x20;
    }
    if (c.password) flags |= 0x40;
    if (c.user_name) flags |= 0x80;
    std::string body = utf8("MQTT") + static_cast<char>(c.version) + static_cast<char>(flags) + u16(c.keepalive);
    if (c.version == 5) body.push_back('\0');  // no CONNECT properties
    body += utf8(c.client_id);
    if (c.will) {
        if (c.version == 5) body.push_back('\0');  // no Will properties
        body += utf8(c.will->topic) + utf8(c.will->payload);
    }
    if (c.user_name) body += utf8(*c.user_name);
    if (c.password) body += utf8(*c.password);
    return packet(0x10, body);
}

std::string subscribe_packet(std::uint16_t id, const std::string& filter, int qos, int version) {
    std::string body = u16(id);
    if (version == 5) body.push_back('\0');
    body += utf8(filter) + static_cast<char>(qos);
    return packet(0x82, body);
}

std::string publish_packet(const std::string& topic, const std::string& payload, int qos, std::uint16_t id,
                           int version, bool retain) {
    std::string body = utf8(topic);
    if (qos > 0) body += u16(id);
    if (version == 5) body.push_back('\0');
    body += payload;
    return packet(static_cast<std::uint8_t>(0x30 | (qos << 1) | (retain ? 1 : 0)), body);
}

}  // namespace raw

namespace {

SSL* as_ssl(void* p) { return static_cast<SSL*>(p); }

// One masked binary WebSocket frame (RFC 6455: a client masks every frame).
std::string ws_frame(const std::string& payload) {
    std::string f(1, static_cast<char>(0x82));
    const std::size_t n = payload.size();
    if (n < 126) {
        f.push_back(static_cast<char>(0x80 | n));
    } else if (n < 65536) {
        f.push_back(static_cast<char>(0x80 | 126));
        f.push_back(static_cast<char>((n >> 8) & 0xFF));
        f.push_back(static_cast<char>(n & 0xFF));
    } else {
        f.push_back(static_cast<char>(0x80 | 127));
        for (int shift = 56; shift >= 0; shift -= 8) f.push_back(static_cast<char>((n >> shift) & 0xFF));
    }
    unsigned char mask[4];
    RAND_bytes(mask, sizeof mask);
    f.append(reinterpret_cast<const char*>(mask), 4);
    for (std::size_t i = 0; i < n; ++i) f.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
    return f;
}

}  // namespace

RawMqttConnection::RawMqttConnection(Options options) : options_(std::move(options)) {}

RawMqttConnection::~RawMqttConnection() { drop(); }

void RawMqttConnection::drop() {
    if (ssl_) SSL_free(as_ssl(ssl_));
    if (ctx_) SSL_CTX_free(static_cast<SSL_CTX*>(ctx_));
    if (fd_ >= 0) ::close(fd_);
    ssl_ = nullptr;
    ctx_ = nullptr;
    fd_ = -1;
    closed_ = true;
}

std::string RawMqttConnection::open() {
    // A write to a connection the broker closed (the point of some tests) must fail, not kill the
    // test process with SIGPIPE.
    std::signal(SIGPIPE, SIG_IGN);
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return "socket failed";
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(options_.port);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        return std::string("connect: ") + std::strerror(errno);
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{10, 0};  // the handshake is blocking: bound it
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

    auto* ctx = SSL_CTX_new(TLS_client_method());
    ctx_ = ctx;
    if (SSL_CTX_load_verify_locations(ctx, options_.ca.c_str(), nullptr) != 1) return "cannot load the CA";
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    if (options_.tls12 && SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION) != 1) return "cannot limit TLS to 1.2";
    if (!options_.cert.empty() &&
        (SSL_CTX_use_certificate_file(ctx, options_.cert.c_str(), SSL_FILETYPE_PEM) != 1 ||
         SSL_CTX_use_PrivateKey_file(ctx, options_.key.c_str(), SSL_FILETYPE_PEM) != 1))
        return "cannot load the client certificate";
    SSL* ssl = SSL_new(ctx);
    ssl_ = ssl;
    SSL_set_fd(ssl, fd_);
    // SSL_set_tlsext_host_name without its C cast.
    static char host[] = "localhost";
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, host);
    SSL_set1_host(ssl, "localhost");
    if (SSL_connect(ssl) != 1) {
        char err[256];
        ERR_error_string_n(ERR_get_error(), err, sizeof err);
        return std::string("TLS handshake failed: ") + err;
    }
    closed_ = false;
    if (!options_.websocket) return "";

    const std::string upgrade =
        "GET /mqtt HTTP/1.1\r\nHost: localhost:" + std::to_string(options_.port) +
        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n";
    if (!write_tls(upgrade)) return "cannot send the WebSocket upgrade";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::string response;
    while (response.find("\r\n\r\n") == std::string::npos) {
        if (!read_tls(response, deadline)) return "no WebSocket upgrade response: " + response;
    }
    const auto end = response.find("\r\n\r\n") + 4;
    if (response.find(" 101 ") == std::string::npos) return "WebSocket upgrade refused: " + response.substr(0, end);
    ws_raw_ = response.substr(end);
    return "";
}

bool RawMqttConnection::write_tls(const std::string& bytes) {
    if (ssl_ == nullptr) return false;
    std::size_t done = 0;
    while (done < bytes.size()) {
        const int n = SSL_write(as_ssl(ssl_), bytes.data() + done, static_cast<int>(bytes.size() - done));
        if (n <= 0) return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

bool RawMqttConnection::send(const std::string& bytes) {
    return write_tls(options_.websocket ? ws_frame(bytes) : bytes);
}

bool RawMqttConnection::read_tls(std::string& out, std::chrono::steady_clock::time_point deadline) {
    if (ssl_ == nullptr || closed_) return false;
    for (;;) {
        if (SSL_pending(as_ssl(ssl_)) == 0) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return false;
            pollfd p{fd_, POLLIN, 0};
            const int r = ::poll(&p, 1, static_cast<int>(left.count()));
            if (r == 0) return false;
            if (r < 0 && errno != EINTR) return false;
            if (r < 0) continue;
        }
        char chunk[16384];
        const int n = SSL_read(as_ssl(ssl_), chunk, sizeof chunk);
        if (n > 0) {
            out.append(chunk, static_cast<std::size_t>(n));
            return true;
        }
        const int e = SSL_get_error(as_ssl(ssl_), n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) continue;
        closed_ = true;  // EOF, reset or TLS alert: the broker closed the connection
        return false;
    }
}

bool RawMqttConnection::fill(std::chrono::steady_clock::time_point deadline) {
    if (!options_.websocket) return read_tls(buffer_, deadline);
    for (;;) {
        // Unframe every complete frame already received (the server never masks).
        bool progressed = false;
        while (ws_raw_.size() >= 2) {
            const auto b0 = static_cast<std::uint8_t>(ws_raw_[0]);
            std::size_t len = static_cast<std::uint8_t>(ws_raw_[1]) & 0x7F;
            std::size_t at = 2;
            if (len == 126) {
                if (ws_raw_.size() < 4) break;
                len = (static_cast<std::uint8_t>(ws_raw_[2]) << 8) | static_cast<std::uint8_t>(ws_raw_[3]);
                at = 4;
            } else if (len == 127) {
                if (ws_raw_.size() < 10) break;
                len = 0;
                for (int i = 2; i < 10; ++i) len = (len << 8) | static_cast<std::uint8_t>(ws_raw_[i]);
                at = 10;
            }
            if (ws_raw_.size() < at + len) break;
            const std::uint8_t opcode = b0 & 0x0F;
            if (opcode == 0x8) {  // close frame
                closed_ = true;
                return false;
            }
            if (opcode == 0x0 || opcode == 0x2) buffer_.append(ws_raw_, at, len);
            ws_raw_.erase(0, at + len);
            progressed = true;
        }
        if (progressed) return true;
        if (!read_tls(ws_raw_, deadline)) return false;
    }
}

std::optional<RawMqttConnection::Packet> RawMqttConnection::read_packet(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        if (buffer_.size() >= 2) {
            std::size_t length = 0, multiplier = 1, at = 1;
            bool complete = false;
            while (at < buffer_.size() && at <= 4) {
                const auto byte = static_cast<std::uint8_t>(buffer_[at++]);
                length += (byte & 0x7F) * multiplier;
                multiplier *= 128;
                if ((byte & 0x80) == 0) {
                    complete = true;
                    break;
                }
            }
            if (complete && buffer_.size() >= at + length) {
                Packet p{static_cast<std::uint8_t>(buffer_[0]), buffer_.substr(at, length)};
                buffer_.erase(0, at + length);
                return p;
            }
        }
        if (!fill(deadline)) return std::nullopt;
    }
}

bool RawMqttConnection::wait_closed(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!closed_) {
        if (!fill(deadline) && !closed_) return false;
        buffer_.clear();
    }
    return true;
}

}  // namespace localcore::conformance
