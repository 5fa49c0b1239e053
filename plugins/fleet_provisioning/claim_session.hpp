// One short MQTT connection for the fleet provisioning exchange: connect with the claim
// certificate, subscribe to the reply topics, then request/reply pairs (publish a request at
// QoS 1, wait for "<topic>/accepted" or "<topic>/rejected"). AWS sends the replies only to the
// requesting connection and carries no correlation token, so one request runs at a time and
// the reply topics are subscribed before the first request.
//
// Threads: paho's callbacks only post into the loop (PahoBridge); every method and every
// completion runs on the loop thread. Each operation has a deadline; a late callback from an
// operation that already ended is ignored (generation numbers).
#pragma once

#include <iotgw/plugins/common/paho_bridge.hpp>
#include <iotgw/plugins/common/paho_compat.hpp>
#include <iotgw/sdk.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace iotgw::plugins::fleet_provisioning {

namespace paho = common::paho;

struct ClaimSettings {
    std::string server_uri;  // ssl://host:port
    std::string client_id;
    paho::TlsSettings tls;
    std::chrono::milliseconds timeout{30000};  // per operation
};

class ClaimSession {
public:
    using Done = std::function<void(const std::string& error)>;  // "" on success
    struct Reply {
        bool accepted = false;
        std::string payload;
    };
    using ReplyDone = std::function<void(const std::string& error, const Reply& reply)>;

    ClaimSession(sdk::Host host, ClaimSettings settings);
    ~ClaimSession();
    ClaimSession(const ClaimSession&) = delete;
    ClaimSession& operator=(const ClaimSession&) = delete;

    void connect(Done done);
    // Subscribes each filter at QoS 1; fails if the broker refuses one (SUBACK >= 0x80).
    void subscribe(std::vector<std::string> filters, Done done);
    void request(const std::string& topic, const std::string& payload, ReplyDone done);
    // Disconnects (without waiting) and drops any operation without calling it back.
    void close() noexcept;

private:
    void begin(std::function<void(const std::string&)> fail);
    void finish_error(const std::string& error);
    void subscribe_next();
    void on_connect_result(uint64_t gen, bool ok, const std::string& why);
    void on_subscribed(uint64_t gen, bool ok, const std::vector<int>& codes, const std::string& why);
    void on_published(uint64_t gen, bool ok, const std::string& why);
    void on_message(const std::string& topic, const std::string& payload);
    void on_lost(const std::string& why);

    sdk::Host host_;
    ClaimSettings settings_;
    uint64_t generation_ = 0;
    bool connected_ = false;
    // The running operation: how to fail it (timeout, lost connection); empty when idle.
    std::function<void(const std::string&)> fail_;
    Done step_done_;
    ReplyDone reply_done_;
    std::string request_topic_;
    std::vector<std::string> filters_;
    std::size_t next_filter_ = 0;
    sdk::Timer deadline_;

    std::shared_ptr<common::PahoBridge> bridge_;
    std::unique_ptr<common::Listener> connect_listener_, subscribe_listener_, publish_listener_;
    std::unique_ptr<::mqtt::async_client> client_;
};

}  // namespace iotgw::plugins::fleet_provisioning
