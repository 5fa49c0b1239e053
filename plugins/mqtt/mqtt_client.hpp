// What the `mqtt` connection (mqtt.cpp: reconnects, backoff, offline queue, pacing, takeover,
// credential switches) needs of an MQTT client library, and what the library tells it back.
// The connection logic is the same whatever library carries the packets; only this seam knows
// the libraries: paho.mqtt.cpp's async client (paho_client.cpp) and paho.mqtt.c's synchronous
// client (paho_sync_client.cpp, a module of its own), chosen by the connection's `client`.
//
// Threads: every ClientEvents call is made on the loop thread; an implementation whose library
// calls back on threads of its own posts them to the loop first (paho: PahoBridge).
#pragma once

#include "connect_failure.hpp"
#include "offline_queue.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace iotgw::plugins::mqtt {

// What the connection logic hears from the client.
class ClientEvents {
public:
    // The connect attempt `generation` was accepted (CONNACK 0) or failed. `session_present` is
    // the CONNACK's flag, or nullopt when the library does not hand it out (paho.mqtt.c's
    // synchronous client under MQTT 5).
    virtual void on_connected(uint64_t generation, std::optional<bool> session_present) = 0;
    virtual void on_connect_failed(uint64_t generation, const ConnectReport& report) = 0;
    // The connection went; `reason` is the broker's DISCONNECT reason code, 0 when it sent none.
    virtual void on_lost(const std::string& why, int reason) = 0;
    // The clean DISCONNECT of a credentials switch (disconnect_for_switch) is done.
    virtual void on_switch_disconnected(uint64_t generation) = 0;
    // A publish was acknowledged (QoS 1) or sent (QoS 0).
    virtual void on_published() = 0;
    // A QoS 1 publish failed: refused by the broker (`reason`, its PUBACK reason code), or
    // `lost_with_the_connection` (sent, not acknowledged, and the connection went). `m` is the
    // message itself, to send it again; its topic is empty when the library did not say which.
    virtual void on_publish_failed(OutMessage m, int reason, bool lost_with_the_connection,
                                   const std::string& why) = 0;
    // The broker's answer to subscribe(..., index): `codes` are the SUBACK's return codes.
    virtual void on_subscribed(uint64_t index, bool ok, const std::vector<int>& codes,
                               const std::string& why) = 0;
    virtual void on_incoming(const std::string& topic, const std::string& payload, int qos, bool retained,
                             std::optional<uint32_t> expiry_s) = 0;

protected:
    ~ClientEvents() = default;
};

// The TLS files of one connect attempt, from the credentials provider.
struct TlsFiles {
    std::string trust_store;  // PEM bundle of the server's trust anchors
    std::string cert_chain;
    std::string private_key;  // a path, or what the OpenSSL provider of a hardware key reads
};

// How a publish was handed over.
enum class SendResult {
    sent,          // handed to the library; the outcome comes as on_published / on_publish_failed
    disconnected,  // the connection is gone: the caller keeps the message
    failed,        // refused by the library for good (`why` says why)
};

class MqttClient {
public:
    virtual ~MqttClient() = default;

    // Starts a connect attempt; the outcome comes as on_connected / on_connect_failed with
    // `generation`. Throws when the library refuses to start it (the caller counts that as a
    // client_error).
    virtual void connect(uint64_t generation, const TlsFiles& tls) = 0;
    // After on_connected: whatever the library leaves to its user (e.g. TCP_NODELAY).
    virtual void after_connect() = 0;
    virtual void subscribe(const std::string& filter, int qos, uint64_t index) = 0;
    virtual SendResult publish(const OutMessage& m, std::optional<uint32_t> expiry_s, std::string& why) = 0;
    // A clean DISCONNECT without the Will and without waiting, for a credentials switch: then
    // on_switch_disconnected(generation). Never throws: a failure calls it at once.
    virtual void disconnect_for_switch(uint64_t generation) = 0;
    // At stop, while connected: publishes `status` (the Will's message, so that a clean stop
    // says "offline" too) and waits up to 1 s for its PUBACK, then disconnects waiting up to
    // 2 s. Returns what went wrong, for the log ("" if nothing).
    struct Farewell {
        std::string topic, payload;
        int qos = 1;
        bool retain = true;
    };
    virtual std::string close(const std::optional<Farewell>& status) = 0;
    // Drops the library's own record of publishes in flight, so that the next connect resends
    // nothing by itself (the connection logic queued them again: on_publish_failed).
    virtual void forget_in_flight() = 0;
    // Makes sure no ClientEvents call comes any more (stop, destruction).
    virtual void detach() noexcept = 0;
};

}  // namespace iotgw::plugins::mqtt
