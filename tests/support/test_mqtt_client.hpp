// An MQTT client for tests, independent of the gateway's own MQTT code (paho.mqtt.cpp
// async_client with callbacks): connects with a device certificate from DevPki, records every
// message it receives, and waits for them with deadlines.
#pragma once

#include "mosquitto_broker.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace mqtt {
class async_client;
}

namespace iotgw::test {

// A paho.mqtt.cpp async_client without persistence for MQTT `version` (4 or 5), made the way both
// paho.mqtt.cpp 1.2 (Debian 12) and 1.5 (Debian 13) accept.
std::unique_ptr<mqtt::async_client> make_paho_client(const std::string& uri, const std::string& id,
                                                     int version);

class TestMqttClient {
public:
    struct Received {
        std::string topic, payload;
        int qos;
        bool retained;
        std::optional<uint32_t> expiry_s = std::nullopt;  // MQTT 5 Message Expiry Interval, if any
    };

    // A TLS endpoint and the client certificate to present, for brokers that are not a
    // MosquittoBroker (e.g. localcore's). `host` must match the server certificate's SAN.
    struct Endpoint {
        std::string host;
        int port = 0;
        std::filesystem::path ca, cert, key;
    };

    // mqtt_version: 4 (3.1.1) or 5.
    TestMqttClient(const MosquittoBroker& broker, const DevPki::Device& cert, const std::string& client_id,
                   int mqtt_version = 4);
    TestMqttClient(const Endpoint& endpoint, const std::string& client_id, int mqtt_version = 4);
    ~TestMqttClient();  // disconnects
    TestMqttClient(const TestMqttClient&) = delete;
    TestMqttClient& operator=(const TestMqttClient&) = delete;

    // false (and last_error()) if the broker refused or the deadline passed.
    bool connect(std::chrono::milliseconds timeout = std::chrono::seconds(5));
    bool connected() const;
    std::string last_error() const;
    // Throw std::runtime_error on failure (no SUBACK/PUBACK in 10 s, refused, disconnected).
    void subscribe(const std::string& filter, int qos = 1);  // waits for SUBACK
    void publish(const std::string& topic, const std::string& payload, int qos = 1,
                 bool retain = false);  // waits for PUBACK at qos 1
    void disconnect();

    // The first received message (so far or arriving before `timeout`) for which `pred` holds.
    std::optional<Received> wait_for(std::function<bool(const Received&)> pred,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(5));
    // Wait until at least `n` messages arrived on `topic`; returns whether they did.
    bool wait_for_count(const std::string& topic, size_t n,
                        std::chrono::milliseconds timeout = std::chrono::seconds(5));
    std::vector<Received> received() const;
    size_t count(const std::string& topic) const;
    void clear();

private:
    void init(const std::string& host, int port, const std::string& client_id);
    void set_error(const std::string& e);

    int mqtt_version_;
    std::string ca_, cert_, key_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<Received> received_;
    std::string last_error_;
    std::unique_ptr<mqtt::async_client> client_;  // last: destroyed first, before what its callbacks use
};

}  // namespace iotgw::test
