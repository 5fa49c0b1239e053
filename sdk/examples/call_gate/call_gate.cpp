// call_gate: a processor that lets through only well-formed AMR call commands.
//
// Each message's payload is checked with the SDK's AMR call rules (<iotgw/amr/call_rules.hpp>,
// the same rules the in-tree amr_call plugin applies); a malformed command is dropped and logged
// with its reason code (not_json, bad_id, ...), a well-formed one is forwarded unchanged.
//
// The example of the SDK's amr component: it links iotgw::amr, which brings RapidJSON.
#include <iotgw/amr/call_rules.hpp>
#include <iotgw/sdk.hpp>

#include <cstddef>
#include <cstdint>

namespace {

using iotgw::sdk::Config;
using iotgw::sdk::Delivery;
using iotgw::sdk::Field;
using iotgw::sdk::Host;
using iotgw::sdk::Message;

constexpr iotgw_config_field kFields[] = {
    Field::integer("max_payload", "larger payloads are refused before parsing (bytes)")
        .with_default("4096")
        .at_least(2)
        .at_most(65536),
};

class CallGate final : public iotgw::sdk::Processor {
public:
    CallGate(Host host, const Config& config)
        : Processor(host),
          max_payload_(static_cast<std::size_t>(config.integer("max_payload"))),
          passed_(host.counter("passed", "well-formed commands forwarded")),
          refused_(host.counter("refused", "malformed commands dropped")) {}

    void on_message(const Delivery& delivery, uint32_t /*endpoint_id*/, const Message& message) override {
        iotgw::amr::ParsedCommand parsed = iotgw::amr::parse_call_command(message.payload, max_payload_);
        if (!parsed.command) {
            refused_.add();
            host().warning("dropped a call command on ", message.topic, ": ", parsed.reason, " (",
                           parsed.detail, ")");
            return;
        }
        passed_.add();
        forward(delivery, message);
    }

private:
    std::size_t max_payload_;
    iotgw::sdk::Counter passed_;
    iotgw::sdk::Counter refused_;
};

}  // namespace

IOTGW_DECLARE_PLUGIN(CallGate, {.abi_major = 1,
                                .abi_minor = 0,
                                .name = "call_gate",
                                .version = "1.0.0",
                                .description = "forwards only well-formed AMR call commands",
                                .fields = kFields})
