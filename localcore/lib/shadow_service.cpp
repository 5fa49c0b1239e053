// The Device Shadow request handlers: get, update and delete, and the replies AWS publishes for
// each (accepted/rejected, update/delta, update/documents).
#include "atomic_file.hpp"
#include "shadow.hpp"

namespace localcore {
namespace {

using shadow::Allocator;
using shadow::Rejection;
using shadow::Value;
using Op = ShadowRequestTopic::Op;

const char* op_name(Op op) {
    switch (op) {
        case Op::get:
            return "get";
        case Op::update:
            return "update";
        case Op::delete_:
            return "delete";
    }
    return "get";
}

OutboundMessage message(std::string topic, std::string payload) {
    OutboundMessage m;
    m.topic = std::move(topic);
    m.payload = std::move(payload);
    return m;
}

Value string_value(const std::string& s, Allocator& alloc) {
    return Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), alloc);
}

// The members every reply ends with.
void add_tail(Value& reply, std::int64_t timestamp, const std::optional<std::string>& token,
              Allocator& alloc) {
    reply.AddMember("timestamp", Value(timestamp), alloc);
    if (token) reply.AddMember("clientToken", string_value(*token, alloc), alloc);
}

OutboundMessage rejected(const std::string& reply_base, const Rejection& why, std::int64_t timestamp,
                         const std::optional<std::string>& token) {
    rapidjson::Document d(rapidjson::kObjectType);
    auto& a = d.GetAllocator();
    d.AddMember("code", why.code, a);
    d.AddMember("message", string_value(why.message, a), a);
    add_tail(d, timestamp, token, a);
    return message(reply_base + "/rejected", shadow::to_json(d));
}

// The name AWS puts in "No shadow exists with name: '...'": the thing for the classic shadow.
Rejection no_such_shadow(const ShadowRequestTopic& topic) {
    return {404, "No shadow exists with name: '" + (topic.shadow.empty() ? topic.thing : topic.shadow) + "'"};
}

const Value* section(const Value& node, const char* name) {
    const auto it = node.FindMember(name);
    return it == node.MemberEnd() ? nullptr : &it->value;
}

// {"state":{desired?,reported?},"metadata":{desired?,reported?},"version":V} (update/documents).
Value snapshot(const Value& state, const Value& metadata, std::int64_t version, Allocator& alloc) {
    Value out(rapidjson::kObjectType);
    out.AddMember("state", Value(state, alloc), alloc);
    out.AddMember("metadata", Value(metadata, alloc), alloc);
    out.AddMember("version", Value(version), alloc);
    return out;
}

}  // namespace

ShadowService::ShadowService(std::filesystem::path dir, ShadowLimits limits)
    : store_(std::move(dir)),
      limits_(limits),
      rate_(limits.requests_per_second_per_thing, limits.max_tracked_things) {}

std::vector<OutboundMessage> ShadowService::handle(const ShadowRequestTopic& topic, std::string_view payload,
                                                   std::int64_t now_ms) {
    const std::int64_t timestamp = now_ms / 1000;
    const std::string reply_base = topic.prefix + "/" + op_name(topic.op);
    const shadow::Payload request = shadow::parse_payload(payload, topic.op == Op::update, limits_);
    // Parsed first so that the 429 can echo the clientToken; every request counts, malformed
    // ones included.
    if (!rate_.allow(topic.thing, now_ms))
        return {rejected(reply_base, {429, "Too Many Requests"}, timestamp, request.client_token)};
    if (request.rejection) return {rejected(reply_base, *request.rejection, timestamp, request.client_token)};
    try {
        switch (topic.op) {
            case Op::get:
                return get(topic, request, timestamp);
            case Op::update:
                return update(topic, request, timestamp);
            case Op::delete_:
                return remove(topic, request, timestamp);
        }
        return {};
    } catch (const std::exception& e) {
        // Corrupt file or failed write: the request fails, the broker and other shadows go on.
        if (error_sink_) error_sink_(e.what());
        return {rejected(reply_base, {500, "Internal service failure"}, timestamp, request.client_token)};
    }
}

std::vector<OutboundMessage> ShadowService::get(const ShadowRequestTopic& topic,
                                                const shadow::Payload& request,
                                                std::int64_t timestamp) const {
    const std::string base = topic.prefix + "/get";
    shadow::Stored current = store_.load(topic.thing, topic.shadow);
    if (current.status != shadow::Stored::Status::live)
        return {rejected(base, no_such_shadow(topic), timestamp, request.client_token)};

    rapidjson::Document d(rapidjson::kObjectType);
    auto& a = d.GetAllocator();
    Value state(current.state(), a);
    if (const Value* desired = section(current.state(), "desired")) {
        Value delta = shadow::compute_delta(*desired, section(current.state(), "reported"), a);
        if (!delta.ObjectEmpty()) state.AddMember("delta", delta, a);
    }
    d.AddMember("state", state, a);
    d.AddMember("metadata", Value(current.metadata(), a), a);
    d.AddMember("version", Value(current.version), a);
    add_tail(d, timestamp, request.client_token, a);
    return {message(base + "/accepted", shadow::to_json(d))};
}

std::vector<OutboundMessage> ShadowService::update(const ShadowRequestTopic& topic,
                                                   const shadow::Payload& request,
                                                   std::int64_t timestamp) const {
    const std::string base = topic.prefix + "/update";
    const auto& token = request.client_token;
    shadow::UpdateRequest req;
    if (auto why = shadow::validate_update(request.doc, limits_, req))
        return {rejected(base, *why, timestamp, token)};

    shadow::Stored current = store_.load(topic.thing, topic.shadow);
    const bool existed = current.status == shadow::Stored::Status::live;
    // The version to match is the current one; a deleted shadow still has its old version.
    if (req.version && *req.version != current.version)
        return {rejected(base, {409, "Version conflict"}, timestamp, token)};

    rapidjson::Document next(rapidjson::kObjectType);
    auto& a = next.GetAllocator();
    next.AddMember("state", existed ? Value(current.state(), a) : Value(rapidjson::kObjectType), a);
    next.AddMember("metadata", existed ? Value(current.metadata(), a) : Value(rapidjson::kObjectType), a);
    Value& state = next["state"];
    Value& metadata = next["metadata"];
    shadow::merge_state(state, metadata, *req.state, timestamp, a);
    if (shadow::state_bytes(state) > limits_.max_state_bytes)
        return {rejected(base, {413, "The payload exceeds the maximum size allowed"}, timestamp, token)};

    const std::int64_t version = current.version + 1;
    store_.save_live(topic.thing, topic.shadow, version, state, metadata);

    std::vector<OutboundMessage> out;
    {
        // Only what the request carried, nulls included, with metadata mirroring it.
        rapidjson::Document d(rapidjson::kObjectType);
        auto& da = d.GetAllocator();
        Value echoed(rapidjson::kObjectType);
        if (req.state->IsNull()) {
            echoed.AddMember("desired", Value(), da);
            echoed.AddMember("reported", Value(), da);
        } else {
            echoed.CopyFrom(*req.state, da);
        }
        Value echoed_metadata = shadow::metadata_for(echoed, timestamp, da);
        d.AddMember("state", echoed, da);
        d.AddMember("metadata", echoed_metadata, da);
        d.AddMember("version", Value(version), da);
        add_tail(d, timestamp, token, da);
        out.push_back(message(base + "/accepted", shadow::to_json(d)));
    }
    if (const Value* desired = section(state, "desired")) {
        rapidjson::Document d(rapidjson::kObjectType);
        auto& da = d.GetAllocator();
        Value delta = shadow::compute_delta(*desired, section(state, "reported"), da);
        if (!delta.ObjectEmpty()) {
            Value delta_meta = shadow::delta_metadata(delta, section(metadata, "desired"), da);
            d.AddMember("version", Value(version), da);
            d.AddMember("timestamp", Value(timestamp), da);
            d.AddMember("state", delta, da);
            d.AddMember("metadata", delta_meta, da);
            if (token) d.AddMember("clientToken", string_value(*token, da), da);
            out.push_back(message(base + "/delta", shadow::to_json(d)));
        }
    }
    {
        rapidjson::Document d(rapidjson::kObjectType);
        auto& da = d.GetAllocator();
        d.AddMember("previous",
                    existed ? snapshot(current.state(), current.metadata(), current.version, da) : Value(),
                    da);
        d.AddMember("current", snapshot(state, metadata, version, da), da);
        add_tail(d, timestamp, token, da);
        out.push_back(message(base + "/documents", shadow::to_json(d)));
    }
    return out;
}

std::vector<OutboundMessage> ShadowService::remove(const ShadowRequestTopic& topic,
                                                   const shadow::Payload& request,
                                                   std::int64_t timestamp) const {
    const std::string base = topic.prefix + "/delete";
    const shadow::Stored current = store_.load(topic.thing, topic.shadow);
    if (current.status != shadow::Stored::Status::live)
        return {rejected(base, no_such_shadow(topic), timestamp, request.client_token)};
    store_.save_tombstone(topic.thing, topic.shadow, current.version);

    rapidjson::Document d(rapidjson::kObjectType);
    auto& a = d.GetAllocator();
    d.AddMember("version", Value(current.version), a);
    add_tail(d, timestamp, request.client_token, a);
    return {message(base + "/accepted", shadow::to_json(d))};
}

}  // namespace localcore
