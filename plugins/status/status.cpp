// `status`: keeps the AMR's retained status true. It passes every message on, remembers the last
// one on the status topic (forced to QoS 1 + retained), and republishes it whenever the
// connection reports it is (again) connected. So after every reconnect the current state is
// on the broker, and a Will ("offline") left by a dropped or taken-over session never stays
// standing while the AMR is online.
#include "schema.hpp"

#include <rapidjson/document.h>
#include <iotgw/sdk/json_document.hpp>
#include <iotgw/sdk/json_parse.hpp>

#include <optional>
#include <string>

namespace iotgw::plugins::status {
namespace {

class Status final : public sdk::Processor {
public:
    Status(sdk::Host host, const sdk::Config& cfg)
        : Processor(host),
          connection_(cfg.string("connection")),
          topic_(cfg.string("topic")),
          republished_(host.counter("republished", "status messages republished after a (re)connect")) {
        if (topic_.empty()) throw sdk::ConfigError("'topic' must not be empty");
        if (topic_.find_first_of("+#") != std::string::npos)
            throw sdk::ConfigError("'topic' is '" + topic_ + "': a status topic cannot contain '+' or '#'");
    }

    void start() override {
        // Retained: the current link state is replayed right here, then every change.
        link_ =
            host().subscribe_events("$iotgw/instance/" + connection_ + "/link",
                                    [this](std::string_view, std::string_view payload) { on_link(payload); });
    }

    void stop() noexcept override { link_.reset(); }

    void on_message(const sdk::Delivery& d, uint32_t, const sdk::Message& m) override {
        if (m.topic != topic_) {
            forward(d, m);
            return;
        }
        last_.assign(m.payload);
        have_last_ = true;
        forward(d, sdk::Message{m.topic, m.payload, 1, true});
    }

private:
    void on_link(std::string_view payload) {
        sdk::MessageDocument doc;
        if (!iotgw::sdk::parse_json(doc, payload) || !doc.IsObject()) {
            host().warning("link event of '", connection_, "' is not a JSON object, ignored: ", payload);
            return;
        }
        const auto it = doc.FindMember("connected");
        if (it == doc.MemberEnd() || !it->value.IsBool()) {
            host().warning("link event of '", connection_,
                           "' has no boolean \"connected\", ignored: ", payload);
            return;
        }
        if (!it->value.GetBool()) return;
        if (!have_last_) {
            host().debug("'", connection_, "' connected; no status seen yet, nothing to republish");
            return;
        }
        host().info("'", connection_, "' connected: republishing the last status on ", topic_);
        republished_.add();
        // Own initiative: continues after this stage in every pipeline containing it.
        host().emit(sdk::Message{topic_, last_, 1, true});
    }

    const std::string connection_;
    const std::string topic_;
    sdk::Counter republished_;
    sdk::EventSubscription link_;
    std::string last_;
    bool have_last_ = false;
};

}  // namespace
}  // namespace iotgw::plugins::status

IOTGW_DECLARE_PLUGIN(iotgw::plugins::status::Status,
                     {.abi_major = 1,
                      .abi_minor = 0,
                      .name = "status",
                      .version = "1.0.0",
                      .description = "Remembers the last retained status and republishes it after every "
                                     "(re)connect of a connection, so a stale Will never stays standing.",
                      .fields = iotgw::plugins::status::kFields})
