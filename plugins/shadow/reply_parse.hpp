// Reading the shadow service's replies. Only the service may publish on reply topics, but a
// reply is still input: anything that is not the documented shape is reported as malformed (with
// what was wrong), never half-applied.
#pragma once

#include "document.hpp"
#include "topics.hpp"

#include <iotgw/sdk/json_document.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace iotgw::plugins::shadow {

struct ParsedReply {
    sdk::MessageDocument doc;
    std::optional<std::string> token;  // clientToken, when it is a string
    int64_t version = 0;               // every kind but the rejections
    const Value* state = nullptr;      // get/accepted, update/accepted, delta, documents' "current"
    const Value* metadata = nullptr;   // beside `state`, when present
    int code = 0;                      // rejections
    std::string message;               // rejections
    std::string problem;               // non-empty: malformed, nothing else is valid
};

// Replies larger than this are refused unparsed (AWS caps a whole document far below it).
inline constexpr std::size_t kMaxReplyBytes = 256 * 1024;

ParsedReply parse_reply(Reply kind, std::string_view payload);

}  // namespace iotgw::plugins::shadow
