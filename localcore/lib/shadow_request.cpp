// Request payload checks, in the order a request meets them: size, encoding, JSON, clientToken,
// then (update only) version and the state node.
#include <algorithm>
#include <string_view>
#include <unordered_set>

#include <iotgw/sdk/json_parse.hpp>

#include "shadow.hpp"

namespace localcore::shadow {
namespace {

constexpr const char* kInvalidJson = "Invalid JSON";
constexpr const char* kInvalidClientToken = "Invalid clientToken";

bool is_blank(std::string_view text) {
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
}

std::optional<std::string> string_token(const rapidjson::Document& doc) {
    if (!doc.IsObject()) return std::nullopt;
    const auto it = doc.FindMember("clientToken");
    if (it == doc.MemberEnd() || !it->value.IsString()) return std::nullopt;
    std::string token(it->value.GetString(), it->value.GetStringLength());
    // The lenient parse lets invalid UTF-8 through; such a token cannot go into a JSON reply.
    if (!is_valid_utf8(token)) return std::nullopt;
    return token;
}

// For requests rejected before the real parse (too large, not UTF-8): the token still lets the
// caller match the rejection to its request.
std::optional<std::string> token_best_effort(std::string_view payload) {
    rapidjson::Document doc;
    if (!iotgw::sdk::parse_json(doc, payload, iotgw::sdk::kJsonMaxDepth, iotgw::sdk::JsonUtf8::as_is))
        return std::nullopt;
    return string_token(doc);
}

Rejection bad_request(std::string message) { return {400, std::move(message)}; }

// True when an object anywhere in `v` names a key twice. RapidJSON keeps both members, and its
// operator== and FindMember see only the first: such an object does not even equal itself, so a
// stored one would make every later update answer with a delta that can never clear. Recursion is
// bounded by the parse's depth limit.
bool has_duplicate_key(const Value& v) {
    if (v.IsArray()) return std::any_of(v.Begin(), v.End(), [](const Value& e) { return has_duplicate_key(e); });
    if (!v.IsObject()) return false;
    std::unordered_set<std::string_view> seen;
    for (const auto& m : v.GetObject()) {
        if (!seen.emplace(m.name.GetString(), m.name.GetStringLength()).second) return true;
        if (has_duplicate_key(m.value)) return true;
    }
    return false;
}

// AWS's answer to nesting beyond its limit: also given when the whole payload is nested beyond
// what the parser takes (iotgw::sdk::kJsonMaxDepth levels), wherever that happens.
Rejection too_deep(const ShadowLimits& limits) {
    return bad_request("JSON contains too many levels of nesting; maximum is " +
                       std::to_string(limits.max_depth));
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    for (std::size_t i = 0; i < n;) {
        const unsigned char c = s[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t len = 0;
        std::uint32_t cp = 0;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1Fu;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0Fu;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07u;
        } else {
            return false;  // continuation byte first, overlong 2-byte lead, or beyond U+10FFFF
        }
        if (i + len > n) return false;
        for (std::size_t k = 1; k < len; ++k) {
            if ((s[i + k] & 0xC0u) != 0x80u) return false;
            cp = (cp << 6) | (s[i + k] & 0x3Fu);
        }
        // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8.
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

Payload parse_payload(std::string_view payload, bool is_update, const ShadowLimits& limits) {
    Payload out;
    if (payload.size() > limits.max_request_bytes) {
        out.client_token = token_best_effort(payload);
        out.rejection = Rejection{413, "The payload exceeds the maximum size allowed"};
        return out;
    }
    if (!is_valid_utf8(payload)) {
        out.client_token = token_best_effort(payload);
        out.rejection = Rejection{415, "Unsupported documented encoding; supported encoding is UTF-8"};
        return out;
    }
    // AWS documents an empty body for get and delete.
    if (!is_update && is_blank(payload)) return out;
    // Iterative and depth-limited (a raw NUL is refused too): the call stack stays flat whatever
    // the client sends, and the document is shallow enough for the recursive functions below.
    if (const auto parsed = iotgw::sdk::parse_json(out.doc, payload); !parsed) {
        out.rejection =
            parsed.error == iotgw::sdk::JsonError::too_deep ? too_deep(limits) : bad_request(kInvalidJson);
        return out;
    }
    if (is_update && has_duplicate_key(out.doc)) {
        out.client_token = string_token(out.doc);
        out.rejection = bad_request(kInvalidJson);
        return out;
    }
    if (!out.doc.IsObject()) {
        // get and delete ignore their body; an update must be an object holding "state".
        if (is_update) out.rejection = bad_request(kInvalidJson);
        return out;
    }
    const auto token = out.doc.FindMember("clientToken");
    if (token != out.doc.MemberEnd()) {
        if (!token->value.IsString()) {
            out.rejection = bad_request(kInvalidClientToken);
            return out;
        }
        out.client_token.emplace(token->value.GetString(), token->value.GetStringLength());
        if (out.client_token->size() > limits.max_client_token_bytes)
            out.rejection = bad_request(kInvalidClientToken);
    }
    return out;
}

std::optional<Rejection> validate_update(const Value& request, const ShadowLimits& limits,
                                         UpdateRequest& out) {
    const auto version = request.FindMember("version");
    if (version != request.MemberEnd()) {
        if (!version->value.IsInt64()) return bad_request("Invalid version");
        out.version = version->value.GetInt64();
    }

    const auto state = request.FindMember("state");
    if (state == request.MemberEnd()) return bad_request("Missing required node: state");
    out.state = &state->value;
    // AWS: "Setting the device's shadow state to null does not delete the shadow": accepted.
    if (state->value.IsNull()) return std::nullopt;
    if (!state->value.IsObject()) return bad_request("State node must be an object");

    for (const auto& m : state->value.GetObject()) {
        const std::string_view name(m.name.GetString(), m.name.GetStringLength());
        if (name != "desired" && name != "reported")
            return bad_request("State contains an invalid node: '" + std::string(name) + "'");
    }
    for (const auto& m : state->value.GetObject()) {
        const std::string_view name(m.name.GetString(), m.name.GetStringLength());
        if (m.value.IsNull()) continue;  // removes the whole section
        if (!m.value.IsObject())
            return bad_request(name == "desired" ? "Desired node must be an object"
                                                 : "Reported node must be an object");
        if (nesting_depth(m.value, limits.max_depth) > limits.max_depth) return too_deep(limits);
        // Inside an array a null cannot mean "delete this key", so AWS refuses it.
        if (auto where = find_null_in_array(m.value, "state." + std::string(name)))
            return bad_request("Invalid JSON: arrays cannot contain null (at " + *where + ")");
    }
    return std::nullopt;
}

}  // namespace localcore::shadow
