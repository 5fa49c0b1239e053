// `filter`: a processor that passes on only the messages whose topic matches one of its MQTT
// topic filters (or, inverted, none of them).
#include "schema.hpp"

#include <iotgw/sdk/topic.hpp>

#include <string>
#include <vector>

namespace iotgw::plugins::filter {
namespace {

class Filter final : public sdk::Processor {
public:
    Filter(sdk::Host host, const sdk::Config& cfg)
        : Processor(host),
          filters_(cfg.strings("topics")),
          invert_(cfg.boolean("invert")),
          dropped_(host.counter("dropped", "messages not passed on")) {
        for (const auto& f : filters_)
            if (auto why = sdk::validate_topic_filter(f)) throw sdk::ConfigError("topics: '" + f + "' is not a valid MQTT topic filter: " + *why);
    }

    void on_message(const sdk::Delivery& d, uint32_t, const sdk::Message& m) override {
        bool matched = false;
        for (const auto& f : filters_) {
            if (sdk::topic_matches(f, m.topic)) {
                matched = true;
                break;
            }
        }
        if (matched != invert_) {
            forward(d, m);
        } else {
            dropped_.add();
        }
    }

private:
    const std::vector<std::string> filters_;
    const bool invert_;
    sdk::Counter dropped_;
};

}  // namespace
}  // namespace iotgw::plugins::filter

IOTGW_DECLARE_PLUGIN(iotgw::plugins::filter::Filter,
                     {.abi_major = 1,
                      .abi_minor = 0,
                      .name = "filter",
                      .version = "1.0.0",
                      .description = "Passes on only messages whose topic matches one of its MQTT topic filters.",
                      .fields = iotgw::plugins::filter::kFields})
