// The AMR's own messages as the shadow plugin reads and writes them: the retained status (what
// is reported), the result of a call (how a call made for desired state ended), and the call
// command itself. Shapes: plugins/amr_call/README.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace iotgw::plugins::shadow {

// The part of a status the shadow reports.
struct AmrState {
    std::string state;                      // "idle", "moving", ...
    std::optional<std::string> command_id;  // the call being executed, or the last one
    std::optional<std::string> error;       // why the last move failed
    bool operator==(const AmrState&) const = default;
};

// nullopt (and `problem`) when the payload is not a status object with a string "state".
std::optional<AmrState> parse_status(std::string_view payload, std::string& problem);

struct CallResult {
    std::string id;
    std::string result;  // "accepted", "refused", "duplicate"
    std::string reason;
    std::string detail;
};

// nullopt when the payload is not a result with a string "id" and "result" (e.g. id null).
std::optional<CallResult> parse_result(std::string_view payload);

// {"id":..,"ts":..[,"target":..]}: the command amr_call accepts.
std::string call_payload(std::string_view id, int64_t ts_ms, const std::optional<std::string>& target);

}  // namespace iotgw::plugins::shadow
