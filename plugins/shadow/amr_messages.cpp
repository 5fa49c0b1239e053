#include "amr_messages.hpp"

#include <iotgw/sdk/json_document.hpp>
#include <iotgw/sdk/json_parse.hpp>

#include "document.hpp"

namespace iotgw::plugins::shadow {
namespace {

// Statuses and results are small; a larger payload is not one of them.
constexpr std::size_t kMaxBytes = 64 * 1024;

bool parse_object(std::string_view payload, rapidjson::Document& doc) {
    if (payload.size() > kMaxBytes) return false;
    return iotgw::sdk::parse_json(doc, payload) && doc.IsObject();
}

std::optional<std::string> string_member(const Value& object, const char* name) {
    const auto it = object.FindMember(name);
    if (it == object.MemberEnd() || !it->value.IsString()) return std::nullopt;
    return std::string(it->value.GetString(), it->value.GetStringLength());
}

}  // namespace

std::optional<AmrState> parse_status(std::string_view payload, std::string& problem) {
    sdk::MessageDocument doc;
    if (!parse_object(payload, doc)) {
        problem = "not a JSON object";
        return std::nullopt;
    }
    auto state = string_member(doc, "state");
    if (!state || state->empty() || state->size() > 64) {
        problem = "no \"state\" string of 1 to 64 bytes";
        return std::nullopt;
    }
    return AmrState{std::move(*state), string_member(doc, "command_id"), string_member(doc, "error")};
}

std::optional<CallResult> parse_result(std::string_view payload) {
    sdk::MessageDocument doc;
    if (!parse_object(payload, doc)) return std::nullopt;
    auto id = string_member(doc, "id");
    auto result = string_member(doc, "result");
    if (!id || !result) return std::nullopt;
    return CallResult{std::move(*id), std::move(*result), string_member(doc, "reason").value_or(""),
                      string_member(doc, "detail").value_or("")};
}

std::string call_payload(std::string_view id, int64_t ts_ms, const std::optional<std::string>& target) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("id");
    w.String(id.data(), static_cast<rapidjson::SizeType>(id.size()));
    w.Key("ts");
    w.Int64(ts_ms);
    if (target) {
        w.Key("target");
        w.String(target->data(), static_cast<rapidjson::SizeType>(target->size()));
    }
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace iotgw::plugins::shadow
