// `events`: a source that turns the gateway's internal events (lifecycle of the core,
// connection state published by connection plugins, ...) into pipeline messages, so they can
// be logged, filtered or published like any other message.
#include "schema.hpp"

#include <string>
#include <vector>

namespace iotgw::plugins::events {
namespace {

class Events final : public sdk::Source {
public:
    Events(sdk::Host host, const sdk::Config& cfg)
        : Source(host), filters_(cfg.strings("events")), topic_template_(cfg.string("topic")) {
        for (const auto& f : filters_)
            if (auto why = sdk::validate_topic_filter(f))
                throw sdk::ConfigError("events: '" + f + "' is not a valid filter: " + *why);
    }

    void start() override {
        for (const auto& f : filters_)
            subscriptions_.push_back(host().subscribe_events(f, [this](std::string_view name, std::string_view payload) {
                const std::string topic = render(name);
                host().emit(sdk::Message{topic, payload, 0, false});
            }));
    }

    void stop() noexcept override { subscriptions_.clear(); }

private:
    std::string render(std::string_view name) const {
        const std::string_view last = name.substr(name.rfind('/') + 1);
        std::string out;
        for (size_t i = 0; i < topic_template_.size(); ++i) {
            if (topic_template_.compare(i, 6, "{name}") == 0) {
                out.append(name);
                i += 5;
            } else if (topic_template_.compare(i, 7, "{event}") == 0) {
                out.append(last);
                i += 6;
            } else {
                out.push_back(topic_template_[i]);
            }
        }
        return out;
    }

    const std::vector<std::string> filters_;
    const std::string topic_template_;
    std::vector<sdk::EventSubscription> subscriptions_;
};

}  // namespace
}  // namespace iotgw::plugins::events

IOTGW_DECLARE_PLUGIN(iotgw::plugins::events::Events,
                     {.abi_major = 1,
                      .abi_minor = 0,
                      .name = "events",
                      .version = "1.0.0",
                      .description = "Turns the gateway's internal events into pipeline messages.",
                      .fields = iotgw::plugins::events::kFields})
