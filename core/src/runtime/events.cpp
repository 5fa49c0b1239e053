// The internal event bus of one running config (host API event_publish/event_subscribe).
#include "runtime.hpp"

#include <iotgw/sdk/topic.hpp>

#include <algorithm>

namespace iotgw::core {

int Runtime::publish_event(const std::string& name, std::string_view payload, bool retain) {
    if (depth_ >= kMaxEmitDepth) {
        log_.error("events", "event '" + name + "' dropped: events nested " + std::to_string(kMaxEmitDepth) +
                                 " deep, subscribers keep publishing to each other");
        return IOTGW_ERR_FAILED;
    }
    const std::string text(payload.empty() ? std::string_view("null") : payload);
    if (retain) {
        auto it = std::find_if(retained_.begin(), retained_.end(), [&](const auto& r) { return r.name == name; });
        if (it != retained_.end()) retained_.erase(it);
        retained_.push_back({name, text});
    }
    log_.debug("events", name + " " + text);
    ++depth_;
    // By index, and only up to the current end: a subscriber may subscribe during delivery.
    const size_t n = subscriptions_.size();
    for (size_t i = 0; i < n; ++i) {
        const EventSubscription s = subscriptions_[i];
        if (!s.active || !sdk::topic_matches(s.filter, name)) continue;
        if (s.node->state != NodeState::running && s.node->state != NodeState::starting) continue;
        s.fn(s.user, name.c_str(), text.c_str());
    }
    --depth_;
    return IOTGW_OK;
}

uint32_t Runtime::subscribe_events(Node& node, std::string filter, void (*fn)(void*, const char*, const char*),
                                   void* user) {
    if (sdk::validate_topic_filter(filter)) return 0;
    const uint32_t id = next_subscription_id_++;
    subscriptions_.push_back({id, &node, filter, fn, user, true});
    // Replay what is retained, oldest first, as if the subscriber had been there all along.
    const std::vector<RetainedEvent> replay = retained_;
    for (const auto& r : replay) {
        if (!sdk::topic_matches(filter, r.name)) continue;
        auto it = std::find_if(subscriptions_.begin(), subscriptions_.end(), [&](const auto& s) { return s.id == id; });
        if (it == subscriptions_.end() || !it->active) break;  // unsubscribed from inside its callback
        fn(user, r.name.c_str(), r.payload.c_str());
    }
    return id;
}

void Runtime::unsubscribe_events(Node& node, uint32_t id) noexcept {
    for (auto& s : subscriptions_)
        if (s.id == id && s.node == &node) s.active = false;
    // Compact only when not delivering: publish_event walks the vector by index.
    if (depth_ == 0)
        subscriptions_.erase(std::remove_if(subscriptions_.begin(), subscriptions_.end(),
                                            [](const auto& s) { return !s.active; }),
                             subscriptions_.end());
}

}  // namespace iotgw::core
