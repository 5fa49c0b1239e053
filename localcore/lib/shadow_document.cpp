// Shadow document algebra: partial merge with metadata, delta, and the measures the limits use.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <array>
#include <utility>

#include "shadow.hpp"

namespace localcore::shadow {
namespace {

constexpr std::array<const char*, 2> kSections = {"desired", "reported"};

Value* find(Value& object, const Value& name) {
    const auto it = object.FindMember(name);
    return it == object.MemberEnd() ? nullptr : &it->value;
}

const Value* find(const Value& object, const Value& name) {
    const auto it = object.FindMember(name);
    return it == object.MemberEnd() ? nullptr : &it->value;
}

void erase(Value& object, const Value& name) {
    const auto it = object.FindMember(name);
    if (it != object.MemberEnd()) object.EraseMember(it);  // Erase keeps the other members' order
}

// Moves `value` into object[name], replacing an existing member in place.
void set(Value& object, const Value& name, Value&& value, Allocator& alloc) {
    if (Value* existing = find(object, name))
        *existing = value;  // RapidJSON assignment moves
    else
        object.AddMember(Value(name, alloc), value, alloc);
}

// object[name] as an object: created when missing, reset when it held something else.
Value& object_member(Value& object, const Value& name, Allocator& alloc) {
    if (Value* existing = find(object, name)) {
        if (!existing->IsObject()) existing->SetObject();
        return *existing;
    }
    object.AddMember(Value(name, alloc), Value(rapidjson::kObjectType), alloc);
    return (object.MemberEnd() - 1)->value;
}

// Merges patch object `patch` into `dst`, keeping `meta` (dst's metadata) in step.
void merge_object(Value& dst, Value& meta, const Value& patch, std::int64_t timestamp, Allocator& alloc) {
    for (const auto& m : patch.GetObject()) {
        if (m.value.IsNull()) {
            erase(dst, m.name);
            erase(meta, m.name);
            continue;
        }
        if (m.value.IsObject()) {
            const Value* old = find(std::as_const(dst), m.name);
            const bool was_object = old != nullptr && old->IsObject();
            Value& child = object_member(dst, m.name, alloc);
            Value& child_meta = object_member(meta, m.name, alloc);
            // The old metadata described a scalar or an array; none of it applies any more.
            if (!was_object) child_meta.SetObject();
            merge_object(child, child_meta, m.value, timestamp, alloc);
            if (child.ObjectEmpty()) {
                erase(dst, m.name);
                erase(meta, m.name);
            }
            continue;
        }
        set(dst, m.name, Value(m.value, alloc), alloc);
        set(meta, m.name, metadata_for(m.value, timestamp, alloc), alloc);
    }
}

std::size_t json_bytes(const Value& value) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buf);
    value.Accept(writer);
    return buf.GetSize();
}

}  // namespace

Value metadata_for(const Value& value, std::int64_t timestamp, Allocator& alloc) {
    if (value.IsObject()) {
        Value out(rapidjson::kObjectType);
        for (const auto& m : value.GetObject())
            out.AddMember(Value(m.name, alloc), metadata_for(m.value, timestamp, alloc), alloc);
        return out;
    }
    if (value.IsArray()) {
        Value out(rapidjson::kArrayType);
        for (const auto& e : value.GetArray()) out.PushBack(metadata_for(e, timestamp, alloc), alloc);
        return out;
    }
    Value leaf(rapidjson::kObjectType);
    leaf.AddMember("timestamp", Value(timestamp), alloc);
    return leaf;
}

void merge_state(Value& state, Value& metadata, const Value& request_state, std::int64_t timestamp,
                 Allocator& alloc) {
    for (const char* section : kSections) {
        const Value name(rapidjson::StringRef(section));
        const Value* patch = request_state.IsNull() ? &request_state : find(request_state, name);
        if (patch == nullptr) continue;
        if (patch->IsNull()) {
            erase(state, name);
            erase(metadata, name);
            continue;
        }
        Value& dst = object_member(state, name, alloc);
        Value& meta = object_member(metadata, name, alloc);
        merge_object(dst, meta, *patch, timestamp, alloc);
        if (dst.ObjectEmpty()) {
            erase(state, name);
            erase(metadata, name);
        }
    }
}

Value compute_delta(const Value& desired, const Value* reported, Allocator& alloc) {
    Value out(rapidjson::kObjectType);
    for (const auto& m : desired.GetObject()) {
        const Value* r = reported != nullptr && reported->IsObject() ? find(*reported, m.name) : nullptr;
        if (r != nullptr && m.value.IsObject() && r->IsObject()) {
            Value sub = compute_delta(m.value, r, alloc);
            if (!sub.ObjectEmpty()) out.AddMember(Value(m.name, alloc), sub, alloc);
            continue;
        }
        // RapidJSON's == compares arrays element-wise, objects member-wise whatever the order,
        // and numbers numerically.
        if (r == nullptr || *r != m.value) out.AddMember(Value(m.name, alloc), Value(m.value, alloc), alloc);
    }
    return out;
}

Value delta_metadata(const Value& delta, const Value* desired_metadata, Allocator& alloc) {
    if (desired_metadata == nullptr) return Value(rapidjson::kObjectType);
    if (!delta.IsObject()) return Value(*desired_metadata, alloc);  // scalar or array: stored whole
    Value out(rapidjson::kObjectType);
    for (const auto& m : delta.GetObject()) {
        const Value* sub = desired_metadata->IsObject() ? find(*desired_metadata, m.name) : nullptr;
        // Only a hand-edited file lacks metadata for a key; leave it out rather than invent it.
        if (sub != nullptr) out.AddMember(Value(m.name, alloc), delta_metadata(m.value, sub, alloc), alloc);
    }
    return out;
}

int nesting_depth(const Value& value, int limit) {
    if (!value.IsObject() && !value.IsArray()) return 0;
    if (limit <= 0) return 1;  // already deeper than allowed: no need to look further down
    int deepest = 0;
    if (value.IsObject()) {
        for (const auto& m : value.GetObject()) {
            deepest = std::max(deepest, nesting_depth(m.value, limit - 1));
            if (deepest >= limit) break;
        }
    } else {
        for (const auto& e : value.GetArray()) {
            deepest = std::max(deepest, nesting_depth(e, limit - 1));
            if (deepest >= limit) break;
        }
    }
    return 1 + deepest;
}

namespace {

std::optional<std::string> null_in(const Value& value, const std::string& path, bool in_array) {
    if (value.IsNull()) return in_array ? std::optional<std::string>(path) : std::nullopt;
    if (value.IsArray()) {
        for (rapidjson::SizeType i = 0; i < value.Size(); ++i)
            if (auto found = null_in(value[i], path + "[" + std::to_string(i) + "]", true)) return found;
    } else if (value.IsObject()) {
        for (const auto& m : value.GetObject())
            if (auto found =
                    null_in(m.value, path + "." + std::string(m.name.GetString(), m.name.GetStringLength()),
                            in_array))
                return found;
    }
    return std::nullopt;
}

}  // namespace

std::optional<std::string> find_null_in_array(const Value& value, const std::string& path) {
    return null_in(value, path, false);
}

std::string to_json(const Value& value) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buf);
    value.Accept(writer);
    return {buf.GetString(), buf.GetSize()};
}

std::size_t state_bytes(const Value& state) {
    std::size_t total = 0;
    for (const char* section : kSections) {
        const auto it = state.FindMember(section);
        if (it != state.MemberEnd()) total += json_bytes(it->value);
    }
    return total;
}

}  // namespace localcore::shadow
