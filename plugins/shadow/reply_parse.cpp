#include "reply_parse.hpp"

#include <iotgw/sdk/json_parse.hpp>

namespace iotgw::plugins::shadow {
namespace {

const Value* member(const Value& object, const char* name) {
    if (!object.IsObject()) return nullptr;
    const auto it = object.FindMember(name);
    return it == object.MemberEnd() ? nullptr : &it->value;
}

// {"desired":obj|null?,"reported":obj|null?, ...}: other members (e.g. get's "delta") are ignored.
std::string state_problem(const Value* state, const char* where) {
    if (state == nullptr) return std::string("no \"") + where + "\" object";
    if (!state->IsObject()) return std::string("\"") + where + "\" is not an object";
    for (const char* section : {"desired", "reported"}) {
        const Value* s = member(*state, section);
        if (s != nullptr && !s->IsObject() && !s->IsNull())
            return std::string("\"") + where + "." + section + "\" is neither an object nor null";
    }
    return "";
}

std::string version_problem(const Value* v, int64_t& out) {
    if (v == nullptr) return "no \"version\"";
    if (!v->IsInt64() || v->GetInt64() < 0) return "\"version\" is not a non-negative integer";
    out = v->GetInt64();
    return "";
}

}  // namespace

ParsedReply parse_reply(Reply kind, std::string_view payload) {
    ParsedReply r;
    if (payload.size() > kMaxReplyBytes) {
        r.problem = std::to_string(payload.size()) + " bytes, larger than any shadow reply can be";
        return r;
    }
    // Iterative and depth-limited: the nesting of the input cannot grow the call stack.
    if (const auto parsed = iotgw::sdk::parse_json(r.doc, payload); !parsed) {
        r.problem = "not JSON: " + parsed.message;
        return r;
    }
    if (!r.doc.IsObject()) {
        r.problem = "not a JSON object";
        return r;
    }
    if (const Value* t = member(r.doc, "clientToken"); t != nullptr && t->IsString())
        r.token = std::string(t->GetString(), t->GetStringLength());

    switch (kind) {
        case Reply::get_rejected:
        case Reply::update_rejected:
        case Reply::delete_rejected: {
            const Value* code = member(r.doc, "code");
            if (code == nullptr || !code->IsInt()) {
                r.problem = "a rejection without an integer \"code\"";
                return r;
            }
            r.code = code->GetInt();
            if (const Value* m = member(r.doc, "message"); m != nullptr && m->IsString())
                r.message = std::string(m->GetString(), m->GetStringLength());
            return r;
        }
        case Reply::delete_accepted:
            r.problem = version_problem(member(r.doc, "version"), r.version);
            return r;
        case Reply::update_documents: {
            const Value* current = member(r.doc, "current");
            if (current == nullptr || !current->IsObject()) {
                r.problem = "no \"current\" object";
                return r;
            }
            r.problem = version_problem(member(*current, "version"), r.version);
            if (r.problem.empty()) r.problem = state_problem(member(*current, "state"), "current.state");
            if (!r.problem.empty()) return r;
            r.state = member(*current, "state");
            r.metadata = member(*current, "metadata");
            return r;
        }
        case Reply::get_accepted:
        case Reply::update_accepted:
        case Reply::update_delta: {
            r.problem = version_problem(member(r.doc, "version"), r.version);
            if (r.problem.empty()) r.problem = state_problem(member(r.doc, "state"), "state");
            if (!r.problem.empty()) return r;
            r.state = member(r.doc, "state");
            r.metadata = member(r.doc, "metadata");
            return r;
        }
    }
    r.problem = "unknown reply";
    return r;
}

}  // namespace iotgw::plugins::shadow
