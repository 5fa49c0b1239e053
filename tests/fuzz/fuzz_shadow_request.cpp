// libFuzzer target: localcore's Device Shadow request topics and payloads (shadow_topic.cpp,
// shadow_request.cpp) and the document algebra an accepted update goes through
// (shadow_document.cpp), in memory: no store, no files.
//
// Input (fuzz_input.hpp): line 1 a topic, line 2 an earlier update payload (applied first when
// valid, so the request meets a non-empty shadow), the rest the request payload. Invariants:
// - a request topic the parser accepts is rebuilt exactly from its parts, its prefix names its
//   reply topics, and it is never a reply topic itself;
// - a payload rejection is 400, 413 or 415; an accepted payload of an update is an object; a
//   client token that is echoed is valid UTF-8 (it goes into a JSON reply);
// - is_valid_utf8 agrees with RFC 3629's table of well-formed byte sequences;
// - after an accepted update the state holds no empty object outside arrays, stays within the
//   nesting limit, has metadata for every key, reads back unchanged once written (to_json, then
//   parse_json as the store does), and applying the same update again changes neither state
//   nor metadata;
// - the delta of a section against itself is empty, and every delta key is a desired key.
#include "fuzz_input.hpp"
#include "shadow.hpp"

#include <iotgw/sdk/json_parse.hpp>
#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using localcore::ShadowLimits;
using localcore::ShadowRequestTopic;
using localcore::shadow::Value;
namespace shadow = localcore::shadow;

constexpr std::int64_t kTimestamp = 1'700'000'000;

void check_topic(std::string_view topic) {
    const auto parsed = localcore::parse_shadow_request_topic(topic);
    if (localcore::is_shadow_response_topic(topic)) {
        IOTGW_FUZZ_CHECK(!parsed);
        IOTGW_FUZZ_CHECK(topic.ends_with("/accepted") || topic.ends_with("/rejected") ||
                         topic.ends_with("/update/delta") || topic.ends_with("/update/documents"));
    }
    if (!parsed) return;
    IOTGW_FUZZ_CHECK(localcore::is_valid_thing_name(parsed->thing));
    IOTGW_FUZZ_CHECK(parsed->shadow.empty() ||
                     (localcore::is_valid_shadow_name(parsed->shadow) && parsed->shadow != "$classic"));
    const char* op = parsed->op == ShadowRequestTopic::Op::get      ? "get"
                     : parsed->op == ShadowRequestTopic::Op::update ? "update"
                                                                    : "delete";
    std::string rebuilt = "$aws/things/" + parsed->thing + "/shadow";
    if (!parsed->shadow.empty()) rebuilt += "/name/" + parsed->shadow;
    IOTGW_FUZZ_CHECK(rebuilt == parsed->prefix);
    IOTGW_FUZZ_CHECK(rebuilt + "/" + op == topic);
    for (const char* reply : {"/get/accepted", "/update/rejected", "/update/delta", "/delete/accepted"}) {
        IOTGW_FUZZ_CHECK(localcore::is_shadow_response_topic(parsed->prefix + reply));
        IOTGW_FUZZ_CHECK(!localcore::parse_shadow_request_topic(parsed->prefix + reply));
    }
}

// RFC 3629 section 4, the UTF8-octets grammar, byte range by byte range.
bool reference_utf8(std::string_view text) {
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const size_t n = text.size();
    const auto in = [&](size_t i, unsigned lo, unsigned hi) { return i < n && s[i] >= lo && s[i] <= hi; };
    for (size_t i = 0; i < n;) {
        const unsigned c = s[i];
        if (c <= 0x7F) {
            i += 1;
        } else if (c >= 0xC2 && c <= 0xDF && in(i + 1, 0x80, 0xBF)) {
            i += 2;
        } else if (c == 0xE0 && in(i + 1, 0xA0, 0xBF) && in(i + 2, 0x80, 0xBF)) {
            i += 3;
        } else if (((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) && in(i + 1, 0x80, 0xBF) &&
                   in(i + 2, 0x80, 0xBF)) {
            i += 3;
        } else if (c == 0xED && in(i + 1, 0x80, 0x9F) && in(i + 2, 0x80, 0xBF)) {
            i += 3;
        } else if (c == 0xF0 && in(i + 1, 0x90, 0xBF) && in(i + 2, 0x80, 0xBF) && in(i + 3, 0x80, 0xBF)) {
            i += 4;
        } else if (c >= 0xF1 && c <= 0xF3 && in(i + 1, 0x80, 0xBF) && in(i + 2, 0x80, 0xBF) &&
                   in(i + 3, 0x80, 0xBF)) {
            i += 4;
        } else if (c == 0xF4 && in(i + 1, 0x80, 0x8F) && in(i + 2, 0x80, 0xBF) && in(i + 3, 0x80, 0xBF)) {
            i += 4;
        } else {
            return false;
        }
    }
    return true;
}

// Stored documents never keep an empty object, except as an element (or inside one) of an array.
bool has_empty_object_outside_arrays(const Value& v) {
    if (!v.IsObject()) return false;
    if (v.ObjectEmpty()) return true;
    for (const auto& m : v.GetObject())
        if (has_empty_object_outside_arrays(m.value)) return true;
    return false;
}

// Every key of `state` has an entry in `metadata`; a leaf's entry is {"timestamp": T}.
bool metadata_covers(const Value& state, const Value& metadata) {
    if (state.IsObject()) {
        if (!metadata.IsObject()) return false;
        for (const auto& m : state.GetObject()) {
            const auto it = metadata.FindMember(m.name);
            if (it == metadata.MemberEnd() || !metadata_covers(m.value, it->value)) return false;
        }
        return true;
    }
    if (state.IsArray()) return metadata.IsArray() && metadata.Size() == state.Size();
    return metadata.IsObject() && metadata.HasMember("timestamp");
}

// Parses and validates an update the way ShadowService does; true with `out` set when accepted.
bool accepted_update(std::string_view payload, const ShadowLimits& limits, shadow::Payload& request,
                     shadow::UpdateRequest& out) {
    request = shadow::parse_payload(payload, true, limits);
    if (request.rejection) return false;
    return !shadow::validate_update(request.doc, limits, out);
}

void check_payload(std::string_view payload, bool is_update, const ShadowLimits& limits) {
    const shadow::Payload p = shadow::parse_payload(payload, is_update, limits);
    if (p.client_token) IOTGW_FUZZ_CHECK(shadow::is_valid_utf8(*p.client_token));
    if (payload.size() > limits.max_request_bytes) IOTGW_FUZZ_CHECK(p.rejection && p.rejection->code == 413);
    if (p.rejection) {
        const int code = p.rejection->code;
        IOTGW_FUZZ_CHECK(code == 400 || code == 413 || code == 415);
        IOTGW_FUZZ_CHECK(!p.rejection->message.empty());
        return;
    }
    if (is_update) IOTGW_FUZZ_CHECK(p.doc.IsObject());
    if (p.client_token) IOTGW_FUZZ_CHECK(p.client_token->size() <= limits.max_client_token_bytes);
}

void check_sections(const Value& state, const Value& metadata, const ShadowLimits& limits,
                    rapidjson::Document::AllocatorType& alloc) {
    IOTGW_FUZZ_CHECK(state.IsObject() && metadata.IsObject());
    IOTGW_FUZZ_CHECK(metadata_covers(state, metadata));
    for (const auto& m : state.GetObject()) {  // the state itself is {} once both sections are gone
        const std::string_view name(m.name.GetString(), m.name.GetStringLength());
        IOTGW_FUZZ_CHECK(name == "desired" || name == "reported");
        IOTGW_FUZZ_CHECK(!has_empty_object_outside_arrays(m.value));
        IOTGW_FUZZ_CHECK(shadow::nesting_depth(m.value, limits.max_depth) <= limits.max_depth);
        const Value self_delta = shadow::compute_delta(m.value, &m.value, alloc);
        IOTGW_FUZZ_CHECK(self_delta.ObjectEmpty());
    }
    const auto desired = state.FindMember("desired");
    if (desired == state.MemberEnd()) return;
    const auto reported = state.FindMember("reported");
    const Value delta = shadow::compute_delta(
        desired->value, reported == state.MemberEnd() ? nullptr : &reported->value, alloc);
    for (const auto& m : delta.GetObject()) IOTGW_FUZZ_CHECK(desired->value.HasMember(m.name));
    const Value delta_meta = shadow::delta_metadata(delta, &metadata["desired"], alloc);
    IOTGW_FUZZ_CHECK(delta_meta.IsObject());

    // What the store writes (shadow::to_json) reads back as it was, parsed as the store parses.
    rapidjson::Document reparsed;
    const std::string json = shadow::to_json(state);
    IOTGW_FUZZ_CHECK(iotgw::sdk::parse_json(reparsed, json));
    IOTGW_FUZZ_CHECK(reparsed == state);
    IOTGW_FUZZ_CHECK(shadow::state_bytes(state) <= json.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    iotgw::fuzz::LineReader in(data, size);
    const std::string_view topic = in.line();
    const std::string_view earlier = in.line();
    const std::string_view payload = in.rest();
    const ShadowLimits limits;

    check_topic(topic);
    IOTGW_FUZZ_CHECK(shadow::is_valid_utf8(payload) == reference_utf8(payload));
    IOTGW_FUZZ_CHECK(shadow::is_valid_utf8(topic) == reference_utf8(topic));
    check_payload(payload, false, limits);
    check_payload(payload, true, limits);

    rapidjson::Document doc(rapidjson::kObjectType);
    auto& alloc = doc.GetAllocator();
    Value state(rapidjson::kObjectType), metadata(rapidjson::kObjectType);
    shadow::Payload first;
    shadow::UpdateRequest first_update;
    if (accepted_update(earlier, limits, first, first_update)) {
        shadow::merge_state(state, metadata, *first_update.state, kTimestamp, alloc);
        check_sections(state, metadata, limits, alloc);
    }
    shadow::Payload request;
    shadow::UpdateRequest update;
    if (!accepted_update(payload, limits, request, update)) return 0;
    shadow::merge_state(state, metadata, *update.state, kTimestamp + 1, alloc);
    check_sections(state, metadata, limits, alloc);

    Value state_again(state, alloc), metadata_again(metadata, alloc);
    shadow::merge_state(state_again, metadata_again, *update.state, kTimestamp + 1, alloc);
    IOTGW_FUZZ_CHECK(state_again == state);
    IOTGW_FUZZ_CHECK(metadata_again == metadata);
    return 0;
}
