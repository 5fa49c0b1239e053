// JSON building blocks of shadow documents: compact serialisation, the recursive merge the shadow
// service applies to an update, and AWS IoT's document limits (desired + reported at most 8 KB,
// at most 6 levels with the section itself counted as the first). Header-only and pure.
#pragma once

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>

namespace iotgw::plugins::shadow {

using Value = rapidjson::Value;
using Allocator = rapidjson::Document::AllocatorType;

struct Limits {
    std::size_t max_state_bytes = 8192;  // desired + reported as compact JSON, metadata excluded
    int max_depth = 6;                   // levels of desired/reported, the section object being level 1
};

inline std::string to_json(const Value& v) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    v.Accept(w);
    return std::string(buf.GetString(), buf.GetSize());
}

inline Value string_value(std::string_view s, Allocator& a) {
    return Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), a);
}

// The member `key` of `object` (keys may hold any byte, NUL included), or nullptr.
inline const Value* find_member(const Value& object, std::string_view key) {
    if (!object.IsObject()) return nullptr;
    const auto it = object.FindMember(Value(rapidjson::StringRef(key.data(), key.size())));
    return it == object.MemberEnd() ? nullptr : &it->value;
}

// Container nesting: a scalar is 0, {} or [] is 1, {"a":[1]} is 2. Stops descending past
// `limit`, so a hostile document cannot exhaust the stack; a result above `limit` only means
// "too deep".
inline int nesting_depth(const Value& v, int limit) {
    if (!v.IsObject() && !v.IsArray()) return 0;
    if (limit <= 0) return 1;
    int deepest = 0;
    if (v.IsObject()) {
        for (const auto& m : v.GetObject()) deepest = std::max(deepest, nesting_depth(m.value, limit - 1));
    } else {
        for (const auto& e : v.GetArray()) deepest = std::max(deepest, nesting_depth(e, limit - 1));
    }
    return 1 + deepest;
}

// The quantity AWS limits to 8 KB: the bytes of desired plus reported, as compact JSON.
inline std::size_t state_bytes(const Value& state) {
    std::size_t total = 0;
    for (const char* section : {"desired", "reported"}) {
        const auto it = state.FindMember(section);
        if (it != state.MemberEnd()) total += to_json(it->value).size();
    }
    return total;
}

// Why the document `state` ({"desired":..,"reported":..}) breaks an AWS limit, or nullopt.
inline std::optional<std::string> limit_problem(const Value& state, const Limits& limits) {
    for (const char* section : {"desired", "reported"}) {
        const auto it = state.FindMember(section);
        if (it == state.MemberEnd()) continue;
        const int depth = nesting_depth(it->value, limits.max_depth);
        if (depth > limits.max_depth)
            return std::string(section) + " is nested more than " + std::to_string(limits.max_depth) +
                   " levels deep (the AWS IoT shadow limit)";
    }
    const std::size_t bytes = state_bytes(state);
    if (bytes > limits.max_state_bytes)
        return "desired + reported would be " + std::to_string(bytes) + " bytes, over the limit of " +
               std::to_string(limits.max_state_bytes) + " bytes";
    return std::nullopt;
}

// Merges the update `patch` into `target` (both objects) the way the shadow service does:
// objects merge key by key, null deletes a key, anything else replaces the old value, and an
// object left empty is removed.
inline void merge_into(Value& target, const Value& patch, Allocator& a) {
    for (const auto& m : patch.GetObject()) {
        auto it = target.FindMember(m.name);
        if (m.value.IsNull()) {
            if (it != target.MemberEnd()) target.RemoveMember(it);
            continue;
        }
        if (m.value.IsObject()) {
            if (it == target.MemberEnd() || !it->value.IsObject()) {
                if (it != target.MemberEnd()) target.RemoveMember(it);
                target.AddMember(Value(m.name, a), Value(rapidjson::kObjectType), a);
                it = target.FindMember(m.name);
            }
            merge_into(it->value, m.value, a);
            if (it->value.ObjectEmpty()) target.RemoveMember(it);
            continue;
        }
        if (it != target.MemberEnd())
            it->value.CopyFrom(m.value, a);
        else
            target.AddMember(Value(m.name, a), Value(m.value, a), a);
    }
}

}  // namespace iotgw::plugins::shadow
