// `log`: a sink that writes each message to the gateway's log as "topic [qos=N retained] payload".
// For watching a pipeline during commissioning and in demos.
#include "schema.hpp"

#include <cstdio>
#include <string>

namespace iotgw::plugins::log {
namespace {

int level_from_name(const std::string& name) {
    if (name == "error") return IOTGW_LOG_ERROR;
    if (name == "warning") return IOTGW_LOG_WARNING;
    if (name == "notice") return IOTGW_LOG_NOTICE;
    if (name == "debug") return IOTGW_LOG_DEBUG;
    return IOTGW_LOG_INFO;
}

// Payloads are device data: never let control characters reach a terminal or the journal.
void append_escaped(std::string& out, std::string_view text) {
    for (unsigned char c : text) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c >= 0x20 && c != 0x7f) {
            out.push_back(static_cast<char>(c));
        } else {
            char buf[5];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        }
    }
}

class LogSink final : public sdk::Sink {
public:
    LogSink(sdk::Host host, const sdk::Config& cfg)
        : Sink(host),
          level_(level_from_name(cfg.string("level"))),
          max_payload_(static_cast<size_t>(cfg.integer("max_payload"))) {}

    void on_message(const sdk::Delivery&, uint32_t, const sdk::Message& m) override {
        if (!host().log_enabled(level_)) return;
        std::string line;
        line.reserve(m.topic.size() + std::min(m.payload.size(), max_payload_) + 32);
        append_escaped(line, m.topic);
        line += " [qos=" + std::to_string(m.qos);
        if (m.retain) line += " retained";
        line += "] ";
        append_escaped(line, m.payload.substr(0, max_payload_));
        if (m.payload.size() > max_payload_) line += "... (" + std::to_string(m.payload.size()) + " bytes)";
        host().log(level_, line);
    }

private:
    const int level_;
    const size_t max_payload_;
};

}  // namespace
}  // namespace iotgw::plugins::log

IOTGW_DECLARE_PLUGIN(iotgw::plugins::log::LogSink,
                     {.abi_major = 1,
                      .abi_minor = 0,
                      .name = "log",
                      .version = "1.0.0",
                      .description = "Writes each message to the gateway log (topic, QoS, retain flag, payload).",
                      .fields = iotgw::plugins::log::kFields})
