// Shadow topic names: which PUBLISH is a shadow request, and which topics only the service writes.
#include <vector>

#include "shadow.hpp"

namespace localcore {
namespace {

constexpr std::string_view kThingsPrefix = "$aws/things/";
// The classic shadow's file name (see Store); a named shadow may not take it.
constexpr std::string_view kClassicFileName = "$classic";

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
           c == '_' || c == '-';
}

bool all_name_chars(std::string_view name, bool allow_dollar) {
    for (char c : name)
        if (!is_name_char(c) && !(allow_dollar && c == '$')) return false;
    return true;
}

std::vector<std::string_view> split(std::string_view text, char sep) {
    std::vector<std::string_view> parts;
    for (;;) {
        const auto pos = text.find(sep);
        parts.push_back(text.substr(0, pos));
        if (pos == std::string_view::npos) return parts;
        text.remove_prefix(pos + 1);
    }
}

std::optional<ShadowRequestTopic::Op> op_of(std::string_view word) {
    if (word == "get") return ShadowRequestTopic::Op::get;
    if (word == "update") return ShadowRequestTopic::Op::update;
    if (word == "delete") return ShadowRequestTopic::Op::delete_;
    return std::nullopt;
}

// Splits "$aws/things/{thing}/shadow[/name/{shadow}]/REST" into the names and REST's levels.
// The classic form has the levels right after "shadow"; the named form has "name", the shadow
// name, then the levels. `levels` tells the two apart (1 for requests, 2 for responses).
struct ShadowTopicParts {
    std::string_view thing;
    std::string_view shadow;
    std::vector<std::string_view> rest;
    bool named = false;
};

std::optional<ShadowTopicParts> split_shadow_topic(std::string_view topic, std::size_t levels) {
    if (!topic.starts_with(kThingsPrefix)) return std::nullopt;
    const auto parts = split(topic.substr(kThingsPrefix.size()), '/');
    // parts: thing, "shadow", levels...  or  thing, "shadow", "name", shadow, levels...
    if (parts.size() < 2 || parts[1] != "shadow") return std::nullopt;
    ShadowTopicParts out;
    out.thing = parts[0];
    if (parts.size() == 2 + levels) {
        out.rest.assign(parts.begin() + 2, parts.end());
        return out;
    }
    if (parts.size() == 4 + levels && parts[2] == "name") {
        out.named = true;
        out.shadow = parts[3];
        out.rest.assign(parts.begin() + 4, parts.end());
        return out;
    }
    return std::nullopt;
}

}  // namespace

bool is_valid_thing_name(std::string_view name) {
    return !name.empty() && name.size() <= 128 && all_name_chars(name, false);
}

bool is_valid_shadow_name(std::string_view name) {
    return !name.empty() && name.size() <= 64 && all_name_chars(name, true);
}

std::optional<ShadowRequestTopic> parse_shadow_request_topic(std::string_view topic) {
    const auto parts = split_shadow_topic(topic, 1);
    if (!parts || !is_valid_thing_name(parts->thing)) return std::nullopt;
    if (parts->named && (!is_valid_shadow_name(parts->shadow) || parts->shadow == kClassicFileName))
        return std::nullopt;
    const auto op = op_of(parts->rest[0]);
    if (!op) return std::nullopt;

    ShadowRequestTopic out;
    out.thing = parts->thing;
    out.shadow = parts->shadow;
    out.op = *op;
    out.prefix = std::string(kThingsPrefix) + out.thing + "/shadow";
    if (parts->named) out.prefix += "/name/" + out.shadow;
    return out;
}

bool is_shadow_response_topic(std::string_view topic) {
    const auto parts = split_shadow_topic(topic, 2);
    if (!parts) return false;
    const std::string_view op = parts->rest[0];
    const std::string_view kind = parts->rest[1];
    if (!op_of(op)) return false;
    if (kind == "accepted" || kind == "rejected") return true;
    return op == "update" && (kind == "delta" || kind == "documents");
}

}  // namespace localcore
