// Provisioning templates, parsing: the JSON checked once into the form the evaluator uses. Everything
// AWS would refuse when the template is created is a TemplateError naming the JSON pointer.
#include <algorithm>
#include <charconv>
#include <utility>
#include <variant>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <iotgw/sdk/json_parse.hpp>

#include "policy.hpp"
#include "provisioning.hpp"
#include "provisioning_template_expr.hpp"

namespace localcore {
namespace {

using Json = rapidjson::Value;
using template_detail::Expr;
using template_detail::kCertificateIdParameter;
using template_detail::parse_certificate_status;
using template_detail::Type;

// AWS: a thing without a thing type has at most three attributes (thing types are not supported
// here, so every provisioned thing is one of those).
constexpr std::size_t kMaxAttributes = 3;

std::string child(const std::string& path, std::string_view key) {
    std::string out = path + '/';
    for (char c : key) {
        if (c == '~')
            out += "~0";
        else if (c == '/')
            out += "~1";
        else
            out += c;
    }
    return out;
}

std::string child(const std::string& path, std::size_t index) { return path + '/' + std::to_string(index); }

std::string_view name_of(const Json::Member& m) { return {m.name.GetString(), m.name.GetStringLength()}; }
std::string_view text_of(const Json& v) { return {v.GetString(), v.GetStringLength()}; }

std::string compact(const Json& v) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    v.Accept(writer);
    return {buffer.GetString(), buffer.GetSize()};
}

const char* override_name(OverrideAction a) {
    switch (a) {
        case OverrideAction::do_nothing:
            return "DO_NOTHING";
        case OverrideAction::replace:
            return "REPLACE";
        case OverrideAction::fail:
            return "FAIL";
        case OverrideAction::merge:
            return "MERGE";
    }
    return "?";
}

class Parser {
public:
    Parser(ProvisioningTemplate::Impl& t) : t_(t) {}

    [[noreturn]] void fail(const std::string& path, const std::string& what) const {
        throw TemplateError("template '" + t_.name + "' " + (path.empty() ? std::string("/") : path) + ": " +
                            what);
    }

    void parse(const Json& root) {
        if (!root.IsObject())
            fail("",
                 "the template is not a JSON object; write {\"Parameters\": {...}, \"Resources\": {...}}");
        check_duplicates(root, "");
        for (const auto& m : root.GetObject()) {
            const auto key = name_of(m);
            if (key != "Parameters" && key != "Mappings" && key != "Resources" &&
                key != "DeviceConfiguration")
                fail(child("", key),
                     "unknown top-level section; use Parameters, Mappings, Resources or DeviceConfiguration");
        }
        if (auto it = root.FindMember("Parameters"); it != root.MemberEnd()) parse_parameters(it->value);
        if (auto it = root.FindMember("Mappings"); it != root.MemberEnd()) parse_mappings(it->value);
        auto resources = root.FindMember("Resources");
        if (resources == root.MemberEnd())
            fail("", "the template has no Resources; declare at least the AWS::IoT::Certificate resource");
        parse_resources(resources->value);
        if (auto it = root.FindMember("DeviceConfiguration"); it != root.MemberEnd())
            parse_device_configuration(it->value);
    }

private:
    // rapidjson keeps duplicate keys and FindMember sees only the first: refuse them so the template
    // means one thing.
    void check_duplicates(const Json& v, const std::string& path) const {
        if (v.IsObject()) {
            std::vector<std::string_view> keys;
            for (const auto& m : v.GetObject()) {
                keys.push_back(name_of(m));
                check_duplicates(m.value, child(path, name_of(m)));
            }
            std::sort(keys.begin(), keys.end());
            auto dup = std::adjacent_find(keys.begin(), keys.end());
            if (dup != keys.end()) fail(child(path, *dup), "the key appears twice; keep one");
        } else if (v.IsArray()) {
            for (rapidjson::SizeType i = 0; i < v.Size(); ++i) check_duplicates(v[i], child(path, i));
        }
    }

    void parse_parameters(const Json& v) {
        const std::string path = "/Parameters";
        if (!v.IsObject()) fail(path, "must be an object of {\"Name\": {\"Type\": \"String\"}}");
        for (const auto& m : v.GetObject()) {
            const std::string name(name_of(m));
            const auto p = child(path, name);
            if (name.empty()) fail(p, "a parameter name cannot be empty");
            if (!m.value.IsObject()) fail(p, "must be an object such as {\"Type\": \"String\"}");
            std::optional<std::string> default_value;
            bool typed = false;
            for (const auto& f : m.value.GetObject()) {
                const auto key = name_of(f);
                if (key == "Type") {
                    if (!f.value.IsString() || text_of(f.value) != "String")
                        fail(child(p, key),
                             "only Type \"String\" is supported (fleet provisioning parameters "
                             "are strings); write \"Type\": \"String\"");
                    typed = true;
                } else if (key == "Default") {
                    if (!f.value.IsString()) fail(child(p, key), "a Default must be a string; quote it");
                    default_value = std::string(text_of(f.value));
                } else if (key != "Description") {
                    fail(child(p, key), "unsupported parameter attribute; use Type, Default or Description");
                }
            }
            if (!typed) fail(p, "the parameter has no Type; add \"Type\": \"String\"");
            if (name == kCertificateIdParameter) {
                t_.declares_certificate_id = true;  // always the new certificate's id
                continue;
            }
            t_.parameters.emplace(name, default_value);
        }
    }

    void parse_mappings(const Json& v) {
        const std::string path = "/Mappings";
        const char* shape =
            "Mappings are {\"Map\": {\"TopKey\": {\"Key\": \"value\" or [\"values\"]}}} "
            "with literal values only (no functions or parameters)";
        if (!v.IsObject()) fail(path, shape);
        for (const auto& map : v.GetObject()) {
            const auto map_path = child(path, name_of(map));
            if (!map.value.IsObject()) fail(map_path, shape);
            const std::string map_name(name_of(map));
            auto& top_keys = t_.mappings[map_name];
            for (const auto& top : map.value.GetObject()) {
                const auto top_path = child(map_path, name_of(top));
                if (!top.value.IsObject()) fail(top_path, shape);
                const std::string top_name(name_of(top));
                auto& second_keys = top_keys[top_name];
                for (const auto& second : top.value.GetObject()) {
                    const auto second_path = child(top_path, name_of(second));
                    if (second.value.IsString()) {
                        second_keys.emplace(std::string(name_of(second)), std::string(text_of(second.value)));
                        continue;
                    }
                    if (!second.value.IsArray()) fail(second_path, shape);
                    std::vector<std::string> values;
                    for (rapidjson::SizeType i = 0; i < second.value.Size(); ++i) {
                        if (!second.value[i].IsString()) fail(child(second_path, i), shape);
                        values.emplace_back(text_of(second.value[i]));
                    }
                    second_keys.emplace(std::string(name_of(second)), std::move(values));
                }
            }
        }
    }

    void parse_resources(const Json& v) {
        const std::string path = "/Resources";
        if (!v.IsObject())
            fail(path, "must be an object of {\"logicalName\": {\"Type\": ..., \"Properties\": {...}}}");
        for (const auto& m : v.GetObject()) resource_names_.emplace_back(name_of(m));
        for (const auto& m : v.GetObject()) {
            const std::string logical(name_of(m));
            const auto p = child(path, logical);
            if (!m.value.IsObject()) fail(p, "a resource must be an object with Type and Properties");
            for (const auto& f : m.value.GetObject()) {
                const auto key = name_of(f);
                if (key != "Type" && key != "Properties" && key != "OverrideSettings")
                    fail(child(p, key),
                         "unknown resource attribute; use Type, Properties or OverrideSettings");
            }
            auto type = m.value.FindMember("Type");
            if (type == m.value.MemberEnd() || !type->value.IsString())
                fail(p,
                     "the resource has no Type; use AWS::IoT::Thing, AWS::IoT::Certificate or "
                     "AWS::IoT::Policy");
            auto props = m.value.FindMember("Properties");
            if (props == m.value.MemberEnd() || !props->value.IsObject())
                fail(p, "the resource needs a Properties object");
            const Json* overrides = nullptr;
            if (auto o = m.value.FindMember("OverrideSettings"); o != m.value.MemberEnd()) {
                if (!o->value.IsObject()) fail(child(p, "OverrideSettings"), "must be an object");
                overrides = &o->value;
            }
            const auto type_name = text_of(type->value);
            if (type_name == "AWS::IoT::Thing") {
                parse_thing(logical, p, props->value, overrides);
            } else if (type_name == "AWS::IoT::Certificate") {
                parse_certificate(logical, p, props->value, overrides);
            } else if (type_name == "AWS::IoT::Policy") {
                if (overrides)
                    fail(child(p, "OverrideSettings"),
                         "OverrideSettings are not available for policies; remove them");
                parse_policy(logical, p, props->value);
            } else {
                fail(child(p, "Type"),
                     "unknown resource type '" + std::string(type_name) +
                         "'; use AWS::IoT::Thing, AWS::IoT::Certificate or AWS::IoT::Policy");
            }
        }
        if (!t_.certificate)
            fail(path,
                 "no AWS::IoT::Certificate resource; fleet provisioning needs one with "
                 "\"CertificateId\": {\"Ref\": \"AWS::IoT::Certificate::Id\"}");
    }

    void parse_thing(const std::string& logical, const std::string& p, const Json& props,
                     const Json* overrides) {
        if (t_.thing)
            fail(p, "a template declares at most one AWS::IoT::Thing (the first is " + t_.thing->path +
                        "); remove one");
        ProvisioningTemplate::Impl::ThingResource thing;
        thing.logical_name = logical;
        thing.path = p;
        const auto props_path = child(p, "Properties");
        bool has_name = false;
        for (const auto& f : props.GetObject()) {
            const auto key = name_of(f);
            const auto fp = child(props_path, key);
            if (key == "ThingName") {
                thing.thing_name = string_expr(f.value, fp);
                if (thing.thing_name.kind == Expr::Kind::literal)
                    literal_check(fp, [&] { validate_thing_name(thing.thing_name.text); });
                has_name = true;
            } else if (key == "AttributePayload") {
                if (!f.value.IsObject() || is_function(f.value))
                    fail(fp, "must be an object of attribute names to string values");
                std::vector<std::pair<std::string, Expr>> attributes;
                for (const auto& a : f.value.GetObject())
                    attributes.emplace_back(std::string(name_of(a)),
                                            string_expr(a.value, child(fp, name_of(a))));
                if (attributes.size() > kMaxAttributes)
                    fail(fp, "a thing without a thing type has at most " + std::to_string(kMaxAttributes) +
                                 " attributes on AWS; remove some");
                thing.attributes = std::move(attributes);
            } else if (key == "ThingTypeName" || key == "ThingGroups" || key == "BillingGroup" ||
                       key == "PackageVersions") {
                fail(fp,
                     "not supported by localcore (its registry has no thing types, groups, billing groups "
                     "or packages); remove it from the template");
            } else {
                fail(fp, "unknown thing property; use ThingName or AttributePayload");
            }
        }
        if (!has_name)
            fail(props_path, "ThingName is required; add e.g. \"ThingName\": {\"Ref\": \"SerialNumber\"}");
        if (overrides) {
            const auto op = child(p, "OverrideSettings");
            for (const auto& f : overrides->GetObject()) {
                const auto key = name_of(f);
                const auto fp = child(op, key);
                const bool mergeable = key == "AttributePayload" || key == "ThingGroups";
                if (!mergeable && key != "ThingTypeName" && key != "BillingGroup")
                    fail(
                        fp,
                        "unknown override; use AttributePayload, ThingTypeName, ThingGroups or BillingGroup");
                const auto action = parse_override(f.value, fp);
                if (action == OverrideAction::merge && !mergeable)
                    fail(fp,
                         "MERGE is valid only for AttributePayload and ThingGroups; use DO_NOTHING, REPLACE "
                         "or FAIL");
                if (key == "AttributePayload") thing.attributes_override = action;
            }
        }
        t_.thing = std::move(thing);
    }

    OverrideAction parse_override(const Json& v, const std::string& path) const {
        if (v.IsString()) {
            for (auto a : {OverrideAction::do_nothing, OverrideAction::replace, OverrideAction::fail,
                           OverrideAction::merge})
                if (text_of(v) == override_name(a)) return a;
        }
        fail(path, "must be \"DO_NOTHING\", \"REPLACE\", \"FAIL\" or \"MERGE\"");
    }

    void parse_certificate(const std::string& logical, const std::string& p, const Json& props,
                           const Json* overrides) {
        if (t_.certificate)
            fail(p, "a template declares at most one AWS::IoT::Certificate (the first is " +
                        t_.certificate->path + "); remove one");
        if (overrides)
            fail(child(p, "OverrideSettings"),
                 "not supported: fleet provisioning always sets the status of the certificate just created; "
                 "remove OverrideSettings");
        ProvisioningTemplate::Impl::CertificateResource cert;
        cert.logical_name = logical;
        cert.path = p;
        const auto props_path = child(p, "Properties");
        bool has_id = false;
        for (const auto& f : props.GetObject()) {
            const auto key = name_of(f);
            const auto fp = child(props_path, key);
            if (key == "CertificateId") {
                // MemberEnd()/FindMember() are only defined on objects: check the type first.
                const bool is_ref = f.value.IsObject() && f.value.MemberCount() == 1 &&
                                    f.value.HasMember("Ref") && f.value["Ref"].IsString() &&
                                    text_of(f.value["Ref"]) == kCertificateIdParameter;
                if (!is_ref)
                    fail(fp,
                         "fleet provisioning templates must write \"CertificateId\": {\"Ref\": "
                         "\"AWS::IoT::Certificate::Id\"}");
                has_id = true;
            } else if (key == "Status") {
                cert.status = string_expr(f.value, fp);
                if (cert.status->kind == Expr::Kind::literal) {
                    if (!parse_certificate_status(cert.status->text))
                        fail(fp, "Status must be ACTIVE or INACTIVE (AWS also accepts Active and Inactive)");
                }
            } else if (key == "CertificateSigningRequest" || key == "CertificatePem" ||
                       key == "CACertificatePem") {
                fail(fp,
                     "fleet provisioning templates can only use CertificateId (the certificate comes from "
                     "CreateKeysAndCertificate or CreateCertificateFromCsr); remove it");
            } else {
                fail(fp, "unknown certificate property; use CertificateId and Status");
            }
        }
        if (!has_id) fail(props_path, "add \"CertificateId\": {\"Ref\": \"AWS::IoT::Certificate::Id\"}");
        t_.certificate = std::move(cert);
    }

    void parse_policy(const std::string& logical, const std::string& p, const Json& props) {
        ProvisioningTemplate::Impl::PolicyResource policy;
        policy.logical_name = logical;
        policy.path = p;
        const auto props_path = child(p, "Properties");
        for (const auto& f : props.GetObject()) {
            const auto key = name_of(f);
            const auto fp = child(props_path, key);
            if (key == "PolicyName") {
                policy.name = string_expr(f.value, fp);
                if (policy.name->kind == Expr::Kind::literal)
                    literal_check(fp, [&] { validate_policy_name(policy.name->text); });
            } else if (key == "PolicyDocument") {
                std::string document;
                if (f.value.IsString()) {
                    document = std::string(text_of(f.value));
                } else if (f.value.IsObject() && !is_function(f.value)) {
                    document = compact(f.value);
                } else {
                    fail(fp,
                         "must be a policy document: a JSON object or a string holding one "
                         "(intrinsic functions are not supported here); or use PolicyName");
                }
                try {
                    (void)Policy::parse(document, "PolicyDocument");
                } catch (const PolicyError& e) {
                    fail(fp, std::string("invalid policy document: ") + e.what());
                }
                policy.document = std::move(document);
            } else {
                fail(fp, "unknown policy property; use PolicyName or PolicyDocument");
            }
        }
        if (policy.name.has_value() == policy.document.has_value())
            fail(props_path, "give exactly one of PolicyName (an existing policy) or PolicyDocument");
        t_.policies.push_back(std::move(policy));
    }

    void parse_device_configuration(const Json& v) {
        const std::string path = "/DeviceConfiguration";
        const char* flat =
            "DeviceConfiguration is a flat map of strings (AWS does not support nested values); "
            "use a string or an intrinsic function returning one";
        if (!v.IsObject() || is_function(v)) fail(path, "must be an object of names to strings");
        for (const auto& m : v.GetObject()) {
            const auto p = child(path, name_of(m));
            if ((m.value.IsObject() && !is_function(m.value)) || m.value.IsArray()) fail(p, flat);
            auto e = expr(m.value, p);
            if (e.type == Type::list) fail(p, flat);
            t_.device_configuration.emplace_back(std::string(name_of(m)), std::move(e));
        }
    }

    // -- expressions --

    static bool is_function(const Json& v) {
        if (!v.IsObject() || v.MemberCount() != 1) return false;
        const auto key = name_of(*v.MemberBegin());
        return key == "Ref" || key.rfind("Fn::", 0) == 0;
    }

    template <typename F>
    void literal_check(const std::string& path, F&& check) const {
        try {
            check();
        } catch (const Error& e) {
            fail(path, e.what());
        }
    }

    bool known_variable(std::string_view name) const {
        return name == kCertificateIdParameter || t_.parameters.count(std::string(name));
    }

    Expr string_expr(const Json& v, const std::string& path) const {
        auto e = expr(v, path);
        if (e.type == Type::list)
            fail(path,
                 "this is a list (a JSON array or Fn::Split) where a string is expected; select one "
                 "element with Fn::Select or join them with Fn::Join");
        return e;
    }

    Expr list_expr(const Json& v, const std::string& path, const char* function) const {
        auto e = expr(v, path);
        if (e.type == Type::string)
            fail(path, std::string(function) +
                           " needs a list here: a JSON array, Fn::Split or Fn::FindInMap "
                           "of a list");
        return e;
    }

    Expr expr(const Json& v, const std::string& path) const {
        Expr e;
        e.path = path;
        if (v.IsString()) {
            e.text = std::string(text_of(v));
            return e;
        }
        if (v.IsArray()) {
            e.kind = Expr::Kind::list;
            e.type = Type::list;
            for (rapidjson::SizeType i = 0; i < v.Size(); ++i)
                e.args.push_back(string_expr(v[i], child(path, i)));
            return e;
        }
        if (!v.IsObject() || v.MemberCount() != 1)
            fail(path,
                 "expected a string or an intrinsic function (Ref, Fn::Join, Fn::Sub, Fn::Select, Fn::Split, "
                 "Fn::FindInMap); quote numbers and booleans");
        const auto& m = *v.MemberBegin();
        const auto fn = name_of(m);
        const auto arg_path = child(path, fn);
        const Json& arg = m.value;
        if (fn == "Ref") return ref(arg, path, std::move(e));  // "/ThingName: Ref to ..." reads best
        if (fn == "Fn::Join") return join(arg, arg_path, std::move(e));
        if (fn == "Fn::Sub") return sub(arg, arg_path, std::move(e));
        if (fn == "Fn::Select") return select(arg, arg_path, std::move(e));
        if (fn == "Fn::Split") return split(arg, arg_path, std::move(e));
        if (fn == "Fn::FindInMap") return find_in_map(arg, arg_path, std::move(e));
        if (fn.rfind("Fn::", 0) == 0)
            fail(arg_path, std::string(fn) +
                               " is not available in provisioning templates; use Ref, Fn::Join, "
                               "Fn::Sub, Fn::Select, Fn::Split or Fn::FindInMap");
        fail(path,
             "expected a string or an intrinsic function (Ref, Fn::Join, Fn::Sub, Fn::Select, Fn::Split, "
             "Fn::FindInMap); nested objects are not values");
    }

    Expr ref(const Json& arg, const std::string& path, Expr e) const {
        if (!arg.IsString()) fail(path, "Ref takes a parameter name, e.g. {\"Ref\": \"SerialNumber\"}");
        const std::string name(text_of(arg));
        if (!known_variable(name)) {
            if (std::find(resource_names_.begin(), resource_names_.end(), name) != resource_names_.end())
                fail(path, "Ref to resource '" + name + "' is not supported; Ref a parameter instead");
            fail(path,
                 "Ref to unknown parameter '" + name + "'; declare it under /Parameters or fix the name");
        }
        e.kind = Expr::Kind::ref;
        e.text = name;
        return e;
    }

    Expr join(const Json& arg, const std::string& path, Expr e) const {
        if (!arg.IsArray() || arg.Size() != 2 || !arg[0].IsString())
            fail(path, "Fn::Join takes [\"delimiter\", [values]]");
        e.kind = Expr::Kind::join;
        e.text = std::string(text_of(arg[0]));
        e.args.push_back(list_expr(arg[1], child(path, 1), "Fn::Join"));
        return e;
    }

    Expr sub(const Json& arg, const std::string& path, Expr e) const {
        e.kind = Expr::Kind::sub;
        const Json* text = &arg;
        std::string text_path = path;
        if (arg.IsArray()) {
            if (arg.Size() != 2 || !arg[0].IsString() || !arg[1].IsObject() || is_function(arg[1]))
                fail(path, "Fn::Sub takes \"text with ${Name}\" or [\"text\", {\"Name\": value}]");
            text = &arg[0];
            text_path = child(path, 0);
            for (const auto& v : arg[1].GetObject()) {
                e.sub_variables.emplace(std::string(name_of(v)), e.args.size());
                e.args.push_back(string_expr(v.value, child(child(path, 1), name_of(v))));
            }
        } else if (!arg.IsString()) {
            fail(path, "Fn::Sub takes \"text with ${Name}\" or [\"text\", {\"Name\": value}]");
        }
        const auto s = text_of(*text);
        std::string literal;
        for (std::size_t i = 0; i < s.size(); ++i) {
            if (s[i] != '$' || i + 1 >= s.size() || s[i + 1] != '{') {
                literal += s[i];
                continue;
            }
            const auto close = s.find('}', i + 2);
            if (close == std::string_view::npos)
                fail(text_path, "unterminated ${ at character " + std::to_string(i) + "; close it with }");
            const auto inner = s.substr(i + 2, close - i - 2);
            i = close;
            if (!inner.empty() && inner[0] == '!') {  // ${!Literal} stands for the text ${Literal}
                literal += "${" + std::string(inner.substr(1)) + "}";
                continue;
            }
            if (!e.sub_variables.count(std::string(inner)) && !known_variable(inner))
                fail(text_path, "Fn::Sub variable ${" + std::string(inner) +
                                    "} is neither a parameter nor in the variable map; declare it or write "
                                    "${!" +
                                    std::string(inner) + "} for the literal text");
            if (!literal.empty()) e.parts.emplace_back(false, std::move(literal));
            literal.clear();
            e.parts.emplace_back(true, std::string(inner));
        }
        if (!literal.empty()) e.parts.emplace_back(false, std::move(literal));
        return e;
    }

    Expr select(const Json& arg, const std::string& path, Expr e) const {
        if (!arg.IsArray() || arg.Size() != 2) fail(path, "Fn::Select takes [index, [values]]");
        e.kind = Expr::Kind::select;
        e.type = Type::string;
        if (arg[0].IsUint()) {
            e.index = arg[0].GetUint();
        } else {
            auto index = string_expr(arg[0], child(path, 0));
            if (index.kind == Expr::Kind::literal) {
                std::size_t n = 0;
                const auto* end = index.text.data() + index.text.size();
                auto [ptr, ec] = std::from_chars(index.text.data(), end, n);
                if (index.text.empty() || ec != std::errc() || ptr != end)
                    fail(child(path, 0), "the index must be a non-negative integer");
                e.index = n;
            } else {
                e.args.push_back(std::move(index));
            }
        }
        e.args.push_back(list_expr(arg[1], child(path, 1), "Fn::Select"));
        if (e.index && e.args.back().kind == Expr::Kind::list && *e.index >= e.args.back().args.size())
            fail(child(path, 0), "index " + std::to_string(*e.index) + " is out of range for a list of " +
                                     std::to_string(e.args.back().args.size()) + " values");
        return e;
    }

    Expr split(const Json& arg, const std::string& path, Expr e) const {
        if (!arg.IsArray() || arg.Size() != 2 || !arg[0].IsString() || arg[0].GetStringLength() == 0)
            fail(path, "Fn::Split takes [\"delimiter\", \"text\"] with a non-empty literal delimiter");
        e.kind = Expr::Kind::split;
        e.type = Type::list;
        e.text = std::string(text_of(arg[0]));
        e.args.push_back(string_expr(arg[1], child(path, 1)));
        return e;
    }

    Expr find_in_map(const Json& arg, const std::string& path, Expr e) const {
        if (!arg.IsArray() || arg.Size() != 3)
            fail(path, "Fn::FindInMap takes [\"MapName\", \"TopKey\", \"Key\"]");
        e.kind = Expr::Kind::find_in_map;
        e.type = Type::any;
        for (rapidjson::SizeType i = 0; i < 3; ++i) e.args.push_back(string_expr(arg[i], child(path, i)));
        // Literal keys are checked now, as AWS checks them when the template is created.
        const auto& map = e.args[0];
        if (map.kind != Expr::Kind::literal) return e;
        auto m = t_.mappings.find(map.text);
        if (m == t_.mappings.end())
            fail(child(path, 0), "no mapping '" + map.text + "' under /Mappings; declare it or fix the name");
        if (e.args[1].kind != Expr::Kind::literal) return e;
        auto top = m->second.find(e.args[1].text);
        if (top == m->second.end())
            fail(child(path, 1), "mapping '" + map.text + "' has no key '" + e.args[1].text + "'");
        if (e.args[2].kind != Expr::Kind::literal) return e;
        auto value = top->second.find(e.args[2].text);
        if (value == top->second.end())
            fail(child(path, 2), "mapping '" + map.text + "' key '" + e.args[1].text + "' has no key '" +
                                     e.args[2].text + "'");
        e.type = std::holds_alternative<std::string>(value->second) ? Type::string : Type::list;
        return e;
    }

private:
    ProvisioningTemplate::Impl& t_;
    std::vector<std::string> resource_names_;
};

}  // namespace

ProvisioningTemplate ProvisioningTemplate::parse(std::string_view json, std::string name) {
    auto impl = std::make_shared<Impl>();
    impl->name = std::move(name);
    rapidjson::Document doc;
    if (const auto parsed = iotgw::sdk::parse_json(doc, json); !parsed)
        throw TemplateError("template '" + impl->name + "' is not valid JSON (" + parsed.message +
                            "); fix the file");
    Parser(*impl).parse(doc);
    return ProvisioningTemplate(std::move(impl));
}

}  // namespace localcore
