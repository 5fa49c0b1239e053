// A byte-level MQTT client over TLS (optionally MQTT over WebSocket over TLS) for the conformance
// tests that need what no client library lets a test do: send a packet whose header announces more
// bytes than follow (packet size limits), hold a TLS connection open without sending CONNECT (to
// time a takeover precisely), send a CONNECT with a Will and then drop the socket without
// DISCONNECT. It encodes the few packets the tests send and splits what the broker sends into
// packets; it interprets nothing else. Every read is bounded.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace localcore::conformance {

namespace raw {

// MQTT control packet types (the high nibble of the first byte).
enum : std::uint8_t {
    kConnack = 0x20,
    kPublish = 0x30,
    kPuback = 0x40,
    kSuback = 0x90,
    kDisconnect = 0xE0,
};

struct Will {
    std::string topic, payload;
    int qos = 0;
    bool retain = false;
};

struct Connect {
    std::string client_id;
    int version = 4;  // 4: MQTT 3.1.1, 5: MQTT 5
    std::uint16_t keepalive = 60;
    std::optional<std::string> user_name, password;
    std::optional<Will> will;
};

// A CONNECT as `client_id` with nothing else set (clean session, keep-alive 60 s).
inline Connect connect_as(std::string client_id, int version = 4) {
    Connect c;
    c.client_id = std::move(client_id);
    c.version = version;
    return c;
}

std::string encode_remaining_length(std::size_t n);
std::string connect_packet(const Connect& c);
std::string subscribe_packet(std::uint16_t id, const std::string& filter, int qos, int version);
std::string publish_packet(const std::string& topic, const std::string& payload, int qos, std::uint16_t id,
                           int version, bool retain = false);

}  // namespace raw

class RawMqttConnection {
public:
    struct Packet {
        std::uint8_t header = 0;  // the first byte: type and flags
        std::string body;         // everything after the remaining length
        std::uint8_t type() const { return header & 0xF0; }
    };
    struct Options {
        std::uint16_t port = 0;
        std::filesystem::path ca;
        std::filesystem::path cert, key;  // empty: no client certificate
        bool websocket = false;           // MQTT over WebSocket (wss://localhost:PORT/mqtt)
        // TLS 1.2 only: the client's handshake then ends with the server's Finished, so when open()
        // returns the broker has processed the whole handshake. With TLS 1.3 the client is done
        // one flight earlier, and a broker paused right after may still owe the handshake's end.
        bool tls12 = false;
    };

    explicit RawMqttConnection(Options options);
    ~RawMqttConnection();
    RawMqttConnection(const RawMqttConnection&) = delete;
    RawMqttConnection& operator=(const RawMqttConnection&) = delete;

    // TCP + TLS handshake (+ WebSocket upgrade); "" on success, else what failed.
    std::string open();
    // Sends MQTT bytes (one WebSocket frame on a websocket connection); false if the write failed.
    bool send(const std::string& bytes);
    // The next packet from the broker, or nullopt when none came within `limit` or the connection
    // closed (closed() tells which).
    std::optional<Packet> read_packet(std::chrono::milliseconds limit = std::chrono::seconds(10));
    // Reads (and discards) until the broker closes the connection; false if it is still open
    // after `limit`.
    bool wait_closed(std::chrono::milliseconds limit);
    bool closed() const { return closed_; }
    // Drops the TCP connection without DISCONNECT (the broker then sends the Will).
    void drop();

private:
    // Appends decrypted bytes (WebSocket payload on a websocket) to buffer_; false on timeout or close.
    bool fill(std::chrono::steady_clock::time_point deadline);
    bool read_tls(std::string& out, std::chrono::steady_clock::time_point deadline);
    bool write_tls(const std::string& bytes);

    Options options_;
    int fd_ = -1;
    void* ctx_ = nullptr;  // SSL_CTX*
    void* ssl_ = nullptr;  // SSL*
    std::string buffer_;   // MQTT bytes received and not yet returned as packets
    std::string ws_raw_;   // WebSocket bytes not yet unframed
    bool closed_ = false;
};

}  // namespace localcore::conformance
