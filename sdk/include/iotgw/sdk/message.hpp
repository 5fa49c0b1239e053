// Non-owning view of a pipeline message and its conversion to and from the C struct.
#pragma once

#include <iotgw/plugin_abi.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

// Not "namespace iotgw::sdk": GCC rejects attributes on a nested namespace definition.
namespace iotgw {
namespace [[gnu::visibility("hidden")]] sdk {

struct Message {
    std::string_view topic;
    std::string_view payload;
    int qos = 0;
    bool retain = false;
    // MQTT 5 Message Expiry Interval in seconds (ABI 1.2): on a received message what the broker
    // says is left of it, on a published one what the connection sets. nullopt: none (or a
    // gateway older than 1.2, or MQTT 3.1.1).
    std::optional<uint32_t> expiry_s = std::nullopt;

    static Message from_c(const iotgw_message& m) noexcept {
        Message out;
        out.topic = std::string_view(m.topic ? m.topic : "", m.topic ? m.topic_len : 0);
        out.payload = std::string_view(static_cast<const char*>(m.payload ? m.payload : ""),
                                       m.payload ? m.payload_len : 0);
        out.qos = m.qos;
        out.retain = (m.flags & IOTGW_MSG_RETAIN) != 0;
        // A producer built for ABI 1.0/1.1 hands a shorter struct: no expiry field to read.
        if ((m.flags & IOTGW_MSG_EXPIRY) != 0 &&
            m.size >= offsetof(iotgw_message, expiry_s) + sizeof m.expiry_s)
            out.expiry_s = m.expiry_s;
        return out;
    }

    iotgw_message to_c() const noexcept {
        iotgw_message m{};
        m.size = sizeof(iotgw_message);
        m.flags = retain ? IOTGW_MSG_RETAIN : 0u;
        if (expiry_s) {
            m.flags |= IOTGW_MSG_EXPIRY;
            m.expiry_s = *expiry_s;
        }
        m.topic = topic.data();
        m.topic_len = topic.size();
        m.payload = payload.data();
        m.payload_len = payload.size();
        m.qos = qos;
        return m;
    }
};

// Where a message being handled came from; pass it back to emit so the reply continues down
// the same pipeline.
class Delivery {
public:
    explicit Delivery(const iotgw_delivery* d) noexcept : d_(d) {}
    const iotgw_delivery* get() const noexcept { return d_; }

private:
    const iotgw_delivery* d_;
};

}  // namespace sdk
}  // namespace iotgw
