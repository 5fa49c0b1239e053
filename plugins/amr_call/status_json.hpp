// The JSON documents amr_call publishes: the result of a command and the AMR's status. Their
// shape is the contract with the browser console (README.md).
#pragma once

#include <iotgw/amr/call_rules.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace iotgw::plugins::amr_call {

// {"id":"c1"|null,"result":"accepted|refused|duplicate","reason":"...","detail":"...","state":"idle|moving","ts":N}
// (reason/detail only when not accepted; "original"/"original_reason" for a duplicate).
std::string result_json(const amr::Decision& d, std::string_view state, int64_t ts_ms);

struct Status {
    std::string_view state;                 // "idle" or "moving"
    uint64_t seq = 0;                       // increases with every status published
    int64_t ts_ms = 0;                      // wall clock of the change
    std::optional<std::string> command_id;  // the call being executed, or the one that just ended
    std::optional<std::string> error;       // why the last move failed
};

std::string status_json(const Status& s);

}  // namespace iotgw::plugins::amr_call
