// Parsing and validation of IoT policy JSON documents. Every part of a policy either has a meaning
// in the evaluator or is rejected with its JSON pointer: a policy that localcore partly ignored
// would pass local tests and then behave differently on AWS.
#include "policy.hpp"

#include <rapidjson/document.h>
#include <iotgw/sdk/json_parse.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

namespace localcore {
namespace {

using detail::ConditionOperator;
using detail::Template;
using detail::Token;
using detail::Variable;
using Value = rapidjson::Value;

// AWS IoT quota: a policy document holds at most 2048 characters, whitespace excluded.
constexpr std::size_t kMaxPolicyChars = 2048;

struct NamedAction {
    std::string_view name;
    Action action;
};
constexpr std::array<NamedAction, 5> kMqttActions = {{{"iot:Connect", Action::connect},
                                                      {"iot:Publish", Action::publish},
                                                      {"iot:Subscribe", Action::subscribe},
                                                      {"iot:Receive", Action::receive},
                                                      {"iot:RetainPublish", Action::retain_publish}}};
// Valid AWS IoT data-plane actions that never authorize an MQTT operation: accepted (AWS accepts
// them) but they grant nothing here.
constexpr std::array<std::string_view, 8> kOtherActions = {
    "iot:GetThingShadow",           "iot:UpdateThingShadow",        "iot:DeleteThingShadow",
    "iot:ListNamedShadowsForThing", "iot:GetRetainedMessage",       "iot:ListRetainedMessages",
    "iot:DeleteConnection",         "iot:AssumeRoleWithCertificate"};

std::uint8_t bit(Action a) { return static_cast<std::uint8_t>(1U << static_cast<unsigned>(a)); }

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::string type_name(const Value& v) {
    if (v.IsString()) return "a string";
    if (v.IsArray()) return "an array";
    if (v.IsObject()) return "an object";
    if (v.IsNumber()) return "a number";
    if (v.IsBool()) return "a boolean";
    return "null";
}

// RFC 6901 escaping, so that the pointer in a message can be pasted into a JSON tool.
std::string pointer_token(std::string_view key) {
    std::string out;
    for (const char c : key) {
        if (c == '~')
            out += "~0";
        else if (c == '/')
            out += "~1";
        else
            out += c;
    }
    return out;
}

class Parser {
public:
    explicit Parser(std::string name) : name_(std::move(name)) {}

    std::vector<detail::Statement> document(std::string_view json) {
        const std::size_t chars = static_cast<std::size_t>(
            std::count_if(json.begin(), json.end(), [](unsigned char c) { return std::isspace(c) == 0; }));
        if (chars > kMaxPolicyChars) {
            throw PolicyError(prefix() + ": the document has " + std::to_string(chars) +
                              " characters excluding whitespace; AWS IoT allows at most " +
                              std::to_string(kMaxPolicyChars));
        }
        rapidjson::Document doc;
        if (const auto parsed = iotgw::sdk::parse_json(doc, json); !parsed)
            throw PolicyError(prefix() + ": invalid JSON: " + parsed.message);
        if (!doc.IsObject()) {
            throw PolicyError(prefix() + ": the document must be a JSON object, not " + type_name(doc));
        }
        check_fields(doc, "", {"Version", "Statement", "Id"}, "Version, Statement and Id");

        const auto version = doc.FindMember("Version");
        if (version == doc.MemberEnd()) fail("/Version", "missing; AWS IoT requires \"2012-10-17\"");
        if (!version->value.IsString() || std::string_view(version->value.GetString()) != "2012-10-17") {
            fail("/Version", "must be \"2012-10-17\" (the only version AWS IoT accepts)");
        }
        const auto id = doc.FindMember("Id");
        if (id != doc.MemberEnd() && !id->value.IsString()) fail("/Id", "must be a string");

        const auto statements = doc.FindMember("Statement");
        if (statements == doc.MemberEnd()) fail("/Statement", "missing");
        std::vector<detail::Statement> out;
        if (statements->value.IsObject()) {
            out.push_back(statement(statements->value, "/Statement"));
        } else if (statements->value.IsArray() && !statements->value.Empty()) {
            for (rapidjson::SizeType i = 0; i < statements->value.Size(); ++i) {
                out.push_back(statement(statements->value[i], "/Statement/" + std::to_string(i)));
            }
        } else {
            fail("/Statement", "must be an object or a non-empty array of objects");
        }
        return out;
    }

private:
    std::string prefix() const { return "policy '" + name_ + "'"; }

    [[noreturn]] void fail(const std::string& pointer, const std::string& what) const {
        throw PolicyError(prefix() + ": " + pointer + ": " + what);
    }

    // Rejects unknown and duplicate keys (RapidJSON keeps duplicates; AWS would take one of them).
    void check_fields(const Value& object, const std::string& pointer,
                      std::initializer_list<std::string_view> known, std::string_view expected) const {
        std::set<std::string_view> seen;
        for (const auto& member : object.GetObject()) {
            const std::string_view key(member.name.GetString(), member.name.GetStringLength());
            const std::string where = pointer + "/" + pointer_token(key);
            if (!seen.insert(key).second) fail(where, "duplicate key");
            if (key == "NotAction" || key == "NotResource") {
                fail(where,
                     "not supported by localcore (write the policy with " + std::string(key.substr(3)) + ")");
            }
            if (key == "Principal" || key == "NotPrincipal") {
                fail(where,
                     "not allowed in an AWS IoT policy (the principal is the certificate "
                     "the policy is attached to)");
            }
            if (std::find(known.begin(), known.end(), key) == known.end()) {
                fail(where, "unknown field (expected " + std::string(expected) + ")");
            }
        }
    }

    // A string or a non-empty array of strings.
    std::vector<std::pair<std::string, std::string>> strings(const Value& v,
                                                             const std::string& pointer) const {
        std::vector<std::pair<std::string, std::string>> out;  // (pointer, value)
        if (v.IsString()) {
            out.emplace_back(pointer, v.GetString());
        } else if (v.IsArray() && !v.Empty()) {
            for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
                const std::string where = pointer + "/" + std::to_string(i);
                if (!v[i].IsString()) fail(where, "must be a string, not " + type_name(v[i]));
                out.emplace_back(where, v[i].GetString());
            }
        } else {
            fail(pointer, "must be a string or a non-empty array of strings, not " +
                              (v.IsArray() ? std::string("an empty array") : type_name(v)));
        }
        return out;
    }

    detail::Statement statement(const Value& v, const std::string& pointer) const {
        if (!v.IsObject()) fail(pointer, "a statement must be an object, not " + type_name(v));
        check_fields(v, pointer, {"Sid", "Effect", "Action", "Resource", "Condition"},
                     "Sid, Effect, Action, Resource and Condition");
        detail::Statement st;
        st.where = prefix() + " " + pointer;

        const auto sid = v.FindMember("Sid");
        if (sid != v.MemberEnd()) {
            if (!sid->value.IsString()) fail(pointer + "/Sid", "must be a string");
            st.where += std::string(" (Sid \"") + sid->value.GetString() + "\")";
        }

        const auto effect = v.FindMember("Effect");
        if (effect == v.MemberEnd()) fail(pointer, "missing \"Effect\" (\"Allow\" or \"Deny\")");
        const std::string_view effect_value =
            effect->value.IsString() ? effect->value.GetString() : std::string_view();
        if (effect_value != "Allow" && effect_value != "Deny") {
            fail(pointer + "/Effect", "must be \"Allow\" or \"Deny\"");
        }
        st.allow = effect_value == "Allow";

        const auto actions = v.FindMember("Action");
        if (actions == v.MemberEnd()) fail(pointer, "missing \"Action\"");
        for (const auto& [where, name] : strings(actions->value, pointer + "/Action")) {
            st.actions |= action_bits(name, where);
        }

        const auto resources = v.FindMember("Resource");
        if (resources == v.MemberEnd()) fail(pointer, "missing \"Resource\"");
        for (const auto& [where, text] : strings(resources->value, pointer + "/Resource")) {
            st.resources.push_back(detail::parse_resource(text, prefix() + ": " + where));
        }

        const auto condition = v.FindMember("Condition");
        if (condition != v.MemberEnd()) st.conditions = conditions(condition->value, pointer + "/Condition");
        return st;
    }

    // IAM action names are case-insensitive and may use `*` / `?`.
    std::uint8_t action_bits(const std::string& name, const std::string& where) const {
        const std::string pattern = lower(name);
        std::uint8_t bits = 0;
        bool known = false;
        for (const NamedAction& a : kMqttActions) {
            if (detail::wildcard_match(pattern, lower(a.name))) {
                bits |= bit(a.action);
                known = true;
            }
        }
        for (const std::string_view other : kOtherActions) {
            if (detail::wildcard_match(pattern, lower(other))) known = true;
        }
        if (!known) {
            fail(where, "unknown action '" + name +
                            "' (localcore knows iot:Connect, iot:Publish, iot:Subscribe, "
                            "iot:Receive, iot:RetainPublish, iot:* and the shadow / retained "
                            "message HTTP actions)");
        }
        return bits;
    }

    std::vector<detail::Condition> conditions(const Value& v, const std::string& pointer) const {
        if (!v.IsObject()) fail(pointer, "must be an object, not " + type_name(v));
        std::vector<detail::Condition> out;
        std::set<std::string_view> seen_ops;
        for (const auto& op_member : v.GetObject()) {
            const std::string_view op_name(op_member.name.GetString(), op_member.name.GetStringLength());
            const std::string op_pointer = pointer + "/" + pointer_token(op_name);
            if (!seen_ops.insert(op_name).second) fail(op_pointer, "duplicate key");
            ConditionOperator op{};
            if (op_name == "Bool")
                op = ConditionOperator::bool_equals;
            else if (op_name == "StringEquals")
                op = ConditionOperator::string_equals;
            else if (op_name == "StringLike")
                op = ConditionOperator::string_like;
            else {
                fail(op_pointer, "unsupported condition operator '" + std::string(op_name) +
                                     "' (localcore supports Bool, StringEquals and StringLike)");
            }
            if (!op_member.value.IsObject()) {
                fail(op_pointer, "must be an object of condition keys, not " + type_name(op_member.value));
            }
            std::set<std::string_view> seen_keys;
            for (const auto& key_member : op_member.value.GetObject()) {
                const std::string_view key(key_member.name.GetString(), key_member.name.GetStringLength());
                const std::string key_pointer = op_pointer + "/" + pointer_token(key);
                if (!seen_keys.insert(key).second) fail(key_pointer, "duplicate key");
                out.push_back(condition(op, key, key_member.value, key_pointer));
            }
        }
        return out;
    }

    detail::Condition condition(ConditionOperator op, std::string_view key, const Value& v,
                                const std::string& pointer) const {
        std::optional<Token> var = detail::variable_by_name(key);
        if (!var) {
            fail(pointer, "unsupported condition key '" + std::string(key) +
                              "' (localcore supports iot:ClientId, iot:Connection.Thing.ThingName, "
                              "iot:Connection.Thing.IsAttached and iot:Certificate.Subject.<Field>)");
        }
        detail::Condition cond{op, std::move(*var), {}};
        if (op == ConditionOperator::bool_equals) {
            if (cond.key.variable != Variable::is_attached) {
                fail(pointer, "Bool applies only to iot:Connection.Thing.IsAttached");
            }
            // IAM takes JSON booleans and the strings "true" / "false" alike.
            const auto add_bool = [&](const Value& item, const std::string& where) {
                std::string text;
                if (item.IsBool())
                    text = item.GetBool() ? "true" : "false";
                else if (item.IsString())
                    text = lower(item.GetString());
                if (text != "true" && text != "false") fail(where, "must be \"true\" or \"false\"");
                cond.values.push_back(Template{Token{false, text, Variable::client_id}});
            };
            if (v.IsArray() && !v.Empty()) {
                for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
                    add_bool(v[i], pointer + "/" + std::to_string(i));
                }
            } else if (v.IsArray()) {
                fail(pointer, "must be \"true\", \"false\" or a non-empty array of them");
            } else {
                add_bool(v, pointer);
            }
            return cond;
        }
        for (const auto& [where, text] : strings(v, pointer)) {
            cond.values.push_back(detail::parse_template(text, prefix() + ": " + where));
        }
        return cond;
    }

    std::string name_;
};

}  // namespace

std::string_view action_name(Action a) {
    for (const NamedAction& named : kMqttActions) {
        if (named.action == a) return named.name;
    }
    return "iot:?";
}

Policy::Policy(std::string name, std::vector<detail::Statement> statements)
    : name_(std::move(name)),
      statements_(std::make_shared<const std::vector<detail::Statement>>(std::move(statements))) {}

Policy Policy::parse(std::string_view json, std::string name) {
    std::vector<detail::Statement> statements = Parser(name).document(json);
    return Policy(std::move(name), std::move(statements));
}

Policy Policy::load_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw PolicyError("cannot read policy file '" + path.string() + "': " + std::strerror(errno));
    }
    std::ostringstream text;
    text << in.rdbuf();
    return parse(text.str(), path.stem().string());
}

}  // namespace localcore
