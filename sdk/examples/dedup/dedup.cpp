// dedup: a processor that drops repeated messages.
//
// A message is dropped when its payload equals the last message forwarded on the same topic and
// that one went out less than `window` ago. The window counts from the last message *forwarded*,
// so an unchanged value still goes out once per window (a heartbeat) instead of never again.
// At most `max_topics` topics are remembered; the one seen least recently is forgotten first.
//
// This is the SDK's worked example; docs/plugin-sdk.md walks through it.
#include <iotgw/sdk.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>

namespace {

using iotgw::sdk::Config;
using iotgw::sdk::Delivery;
using iotgw::sdk::Field;
using iotgw::sdk::Host;
using iotgw::sdk::Message;

// The schema is data: the gateway validates a site config against it (types, bounds, unknown
// keys) before any plugin instance is created, and `iotgw plugins` prints it.
constexpr iotgw_config_field kFields[] = {
    Field::duration("window", "a repeat of the last forwarded payload within this time is dropped")
        .with_default("\"10s\"")
        .at_least(0),
    Field::integer("max_topics", "topics remembered at most; the least recently seen is forgotten")
        .with_default("1024")
        .at_least(1)
        .at_most(1000000),
};

class Dedup final : public iotgw::sdk::Processor {
public:
    // Runs at create: read the config and allocate, no I/O. Values are already validated and
    // defaults filled in, so no range checks here.
    Dedup(Host host, const Config& config)
        : Processor(host),
          window_ns_(std::chrono::nanoseconds(config.duration("window")).count()),
          max_topics_(static_cast<std::size_t>(config.integer("max_topics"))),
          passed_(host.counter("passed", "messages forwarded")),
          suppressed_(host.counter("suppressed", "repeated messages dropped")) {}

    // Called on the gateway's event loop, one message at a time: no locking needed.
    void on_message(const Delivery& delivery, uint32_t /*endpoint_id*/, const Message& message) override {
        if (is_repeat(message, iotgw::sdk::Timer::now_ns())) {
            suppressed_.add();
            // Formatted only when debug logging is on.
            host().debug("dropped repeat on ", message.topic, " (", message.payload.size(), " bytes)");
            return;
        }
        passed_.add();
        forward(delivery, message);
    }

private:
    struct Last {
        std::string payload;  // last payload forwarded on the topic
        int64_t sent_ns = 0;  // when it was forwarded (host monotonic clock)
        std::list<std::string>::iterator recency;
    };

    // Tells whether `m` repeats the last forwarded message of its topic; if not, remembers it
    // as the new one. The message's views die when on_message returns: keep copies.
    bool is_repeat(const Message& m, int64_t now_ns) {
        std::string topic(m.topic);
        auto it = topics_.find(topic);
        if (it == topics_.end()) {
            if (topics_.size() >= max_topics_) forget_least_recent();
            recency_.push_front(topic);
            topics_.emplace(std::move(topic), Last{std::string(m.payload), now_ns, recency_.begin()});
            return false;
        }
        Last& last = it->second;
        recency_.splice(recency_.begin(), recency_, last.recency);  // now the most recent
        if (last.payload == m.payload && now_ns - last.sent_ns < window_ns_) return true;
        last.payload.assign(m.payload);
        last.sent_ns = now_ns;
        return false;
    }

    void forget_least_recent() {
        topics_.erase(recency_.back());
        recency_.pop_back();
    }

    const int64_t window_ns_;
    const std::size_t max_topics_;
    iotgw::sdk::Counter passed_;      // reported as "<instance>.passed"
    iotgw::sdk::Counter suppressed_;  // reported as "<instance>.suppressed"
    std::list<std::string> recency_;  // topics, most recently seen first
    std::unordered_map<std::string, Last> topics_;
};

}  // namespace

// The library's one exported symbol. abi_major/abi_minor are literals: the ABI this code was
// written for, which stays true when it is rebuilt against a newer SDK.
IOTGW_DECLARE_PLUGIN(Dedup, {.abi_major = 1,
                             .abi_minor = 0,
                             .name = "dedup",
                             .version = "1.0.0",
                             .description = "drops repeats of the last message on a topic within a window",
                             .fields = kFields})
