#include "test_mqtt_client.hpp"

#include <mqtt/async_client.h>

#include <stdexcept>

namespace iotgw::test {
namespace {

constexpr auto kAckDeadline = std::chrono::seconds(10);

// paho 1.2 with MQTT 5 throws from wait for any reason code > 2 (e.g. PUBACK 0x10 "no matching
// subscribers"); 1.5 only for >= 0x80. Both mean success when rc is 0 and reason < 0x80.
bool is_success(const mqtt::exception& e) { return e.get_return_code() == 0 && e.get_reason_code() < 0x80; }

}  // namespace

std::unique_ptr<mqtt::async_client> make_paho_client(const std::string& uri, const std::string& id,
                                                     int version) {
    // The builder is the same in 1.2 and 1.5; a v5 connect needs a v5-created client.
    auto opts = mqtt::create_options_builder().mqtt_version(version).finalize();
#if __has_include(<mqtt/event.h>)  // paho.mqtt.cpp >= 1.5: persistence is a variant
    return std::make_unique<mqtt::async_client>(uri, id, opts, mqtt::NO_PERSISTENCE);
#else
    return std::make_unique<mqtt::async_client>(uri, id, opts, static_cast<mqtt::iclient_persistence*>(nullptr));
#endif
}

TestMqttClient::TestMqttClient(const MosquittoBroker& broker, const DevPki::Device& cert,
                               const std::string& client_id, int mqtt_version)
    : mqtt_version_(mqtt_version), ca_(broker.ca().string()), cert_(cert.cert.string()), key_(cert.key.string()) {
    init(broker.host(), broker.port(), client_id);
}

TestMqttClient::TestMqttClient(const Endpoint& endpoint, const std::string& client_id, int mqtt_version)
    : mqtt_version_(mqtt_version),
      ca_(endpoint.ca.string()),
      cert_(endpoint.cert.string()),
      key_(endpoint.key.string()) {
    init(endpoint.host, endpoint.port, client_id);
}

void TestMqttClient::init(const std::string& host, int port, const std::string& client_id) {
    if (mqtt_version_ != 4 && mqtt_version_ != 5)
        throw std::invalid_argument("TestMqttClient: mqtt_version must be 4 (3.1.1) or 5, not " +
                                    std::to_string(mqtt_version_));
    client_ = make_paho_client("ssl://" + host + ":" + std::to_string(port), client_id, mqtt_version_);
    // Runs on paho's thread: only record and wake waiters.
    client_->set_message_callback([this](mqtt::const_message_ptr m) {
        {
            std::lock_guard lock(mutex_);
            std::optional<uint32_t> expiry;
            if (m->get_properties().contains(mqtt::property::MESSAGE_EXPIRY_INTERVAL))
                expiry = mqtt::get<uint32_t>(m->get_properties(), mqtt::property::MESSAGE_EXPIRY_INTERVAL);
            received_.push_back(
                Received{m->get_topic(), m->to_string(), m->get_qos(), m->is_retained(), expiry});
        }
        cv_.notify_all();
    });
}

TestMqttClient::~TestMqttClient() {
    try {
        disconnect();
    } catch (...) {
        // Best effort: the broker may already be gone.
    }
    client_.reset();
}

void TestMqttClient::set_error(const std::string& e) {
    std::lock_guard lock(mutex_);
    last_error_ = e;
}

bool TestMqttClient::connect(std::chrono::milliseconds timeout) {
    {
        std::lock_guard lock(mutex_);
        last_error_.clear();
    }
    auto ssl = mqtt::ssl_options_builder()
                   .trust_store(ca_)
                   .key_store(cert_)
                   .private_key(key_)
                   .verify(true)  // hostname check; off by default in paho
                   // No error_handler: paho would call it through a dangling context (see
                   // plugins/common/include/iotgw/plugins/common/paho_compat.hpp, make_ssl).
                   .finalize();
    // mqtt_version first: paho 1.2 rejects clean_start/clean_session that do not match it.
    mqtt::connect_options_builder builder;
    builder.mqtt_version(mqtt_version_);
    if (mqtt_version_ == 5)
        builder.clean_start(true);
    else
        builder.clean_session(true);
    builder.connect_timeout(timeout).keep_alive_interval(std::chrono::seconds(30)).ssl(ssl);
    const auto options = builder.finalize();
    // paho.mqtt.c serves every client of a process from one receive thread that notices a new
    // socket only when its select() times out (~1 s); under load a second client's connect
    // then sometimes fails with a bare "TCP/TLS connect failure" although nothing refused it.
    // A refusal fails every attempt the same way, so retrying within the deadline is safe.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        try {
            auto tok = client_->connect(options);
            if (!tok->wait_for(timeout)) {
                set_error("no CONNACK within " + std::to_string(timeout.count()) + " ms");
                return false;
            }
            return true;
        } catch (const mqtt::exception& e) {
            set_error(e.what());
            const bool transient = e.get_return_code() == -1;  // MQTTASYNC_FAILURE
            if (!transient || std::chrono::steady_clock::now() + std::chrono::milliseconds(500) > deadline)
                return false;
        }
    }
}

bool TestMqttClient::connected() const { return client_->is_connected(); }

std::string TestMqttClient::last_error() const {
    std::lock_guard lock(mutex_);
    return last_error_;
}

void TestMqttClient::subscribe(const std::string& filter, int qos) {
    try {
        auto tok = client_->subscribe(filter, qos);
        if (!tok->wait_for(kAckDeadline)) throw std::runtime_error("no SUBACK for " + filter + " within 10 s");
    } catch (const mqtt::exception& e) {
        if (!is_success(e)) throw std::runtime_error("subscribe " + filter + " failed: " + e.what());
    }
}

void TestMqttClient::publish(const std::string& topic, const std::string& payload, int qos, bool retain) {
    try {
        auto tok = client_->publish(topic, payload.data(), payload.size(), qos, retain);
        if (!tok->wait_for(kAckDeadline))
            throw std::runtime_error("publish to " + topic + " not acknowledged within 10 s");
    } catch (const mqtt::exception& e) {
        if (!is_success(e)) throw std::runtime_error("publish to " + topic + " failed: " + e.what());
    }
}

void TestMqttClient::disconnect() {
    if (client_ && client_->is_connected()) client_->disconnect()->wait_for(std::chrono::seconds(2));
}

std::optional<TestMqttClient::Received> TestMqttClient::wait_for(std::function<bool(const Received&)> pred,
                                                                 std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    std::optional<Received> found;
    size_t checked = 0;
    cv_.wait_for(lock, timeout, [&] {
        for (; checked < received_.size(); ++checked) {
            if (pred(received_[checked])) {
                found = received_[checked];
                return true;
            }
        }
        return false;
    });
    return found;
}

bool TestMqttClient::wait_for_count(const std::string& topic, size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] {
        size_t c = 0;
        for (const auto& r : received_) c += r.topic == topic ? 1 : 0;
        return c >= n;
    });
}

std::vector<TestMqttClient::Received> TestMqttClient::received() const {
    std::lock_guard lock(mutex_);
    return received_;
}

size_t TestMqttClient::count(const std::string& topic) const {
    std::lock_guard lock(mutex_);
    size_t c = 0;
    for (const auto& r : received_) c += r.topic == topic ? 1 : 0;
    return c;
}

void TestMqttClient::clear() {
    std::lock_guard lock(mutex_);
    received_.clear();
}

}  // namespace iotgw::test
