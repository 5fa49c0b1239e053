// libFuzzer target: arbitrary bytes as an AMR call command, through the form checks and the
// stateful rules (dedupe memory, clock, busy). Any refusal is fine; crashes, sanitizer reports,
// hangs and unbounded memory are not.
#include <iotgw/amr/call_rules.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

iotgw::amr::CallRules& rules() {
    // One instance across inputs, so the dedupe LRU fills, evicts and is hit as in the field.
    static iotgw::amr::CallRules r(iotgw::amr::CallRulesOptions{std::chrono::milliseconds(30'000),
                                                                std::chrono::milliseconds(5'000), 4096, 64},
                                   [] { return int64_t{1'700'000'000'000}; });
    return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view payload(reinterpret_cast<const char*>(data), size);
    const auto parsed = iotgw::amr::parse_call_command(payload, 1 << 20);
    if (parsed.command && parsed.command->id.empty()) __builtin_trap();  // a command always has an id
    if (!parsed.command && parsed.reason.empty()) __builtin_trap();      // a refusal always has a reason
    const bool busy = size > 0 && (data[0] & 1) != 0;
    const auto d = rules().decide(payload, busy);
    if (d.result == iotgw::amr::Result::accepted && !d.command) __builtin_trap();
    if (rules().remembered() > 64) __builtin_trap();
    return 0;
}
