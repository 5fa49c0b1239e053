// registry.json <-> RegistryData. The format carries a version so later changes can migrate.
#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <iotgw/sdk/json_parse.hpp>

#include "registry.hpp"

#include <string_view>

namespace localcore {
namespace {

constexpr int kFormatVersion = 1;

[[noreturn]] void corrupt(const std::filesystem::path& source, const std::string& what) {
    throw Error("registry file " + source.string() + " is corrupt (" + what +
                "); restore it from a backup or move it away to start with an empty registry");
}

const rapidjson::Value& member(const rapidjson::Value& obj, const char* name,
                               const std::filesystem::path& src, std::string_view where) {
    auto it = obj.FindMember(name);
    if (it == obj.MemberEnd()) corrupt(src, std::string(where) + " has no \"" + name + "\"");
    return it->value;
}

std::string string_member(const rapidjson::Value& obj, const char* name, const std::filesystem::path& src,
                          std::string_view where) {
    const auto& v = member(obj, name, src, where);
    if (!v.IsString()) corrupt(src, std::string(where) + "." + name + " is not a string");
    return {v.GetString(), v.GetStringLength()};
}

std::int64_t int_member(const rapidjson::Value& obj, const char* name, const std::filesystem::path& src,
                        std::string_view where) {
    const auto& v = member(obj, name, src, where);
    if (!v.IsInt64()) corrupt(src, std::string(where) + "." + name + " is not an integer");
    return v.GetInt64();
}

std::vector<std::string> string_array(const rapidjson::Value& obj, const char* name,
                                      const std::filesystem::path& src, std::string_view where) {
    const auto& v = member(obj, name, src, where);
    if (!v.IsArray()) corrupt(src, std::string(where) + "." + name + " is not an array");
    std::vector<std::string> out;
    for (const auto& e : v.GetArray()) {
        if (!e.IsString()) corrupt(src, std::string(where) + "." + name + " has a non-string entry");
        out.emplace_back(e.GetString(), e.GetStringLength());
    }
    return out;
}

const rapidjson::Value& object_member(const rapidjson::Value& obj, const char* name,
                                      const std::filesystem::path& src, std::string_view where) {
    const auto& v = member(obj, name, src, where);
    if (!v.IsObject()) corrupt(src, std::string(where) + "." + name + " is not an object");
    return v;
}

}  // namespace

RegistryData parse_registry_json(std::string_view text, const std::filesystem::path& src) {
    rapidjson::Document doc;
    if (const auto parsed = iotgw::sdk::parse_json(doc, text); !parsed)
        corrupt(src, "invalid JSON: " + parsed.message);
    if (!doc.IsObject()) corrupt(src, "the top level is not an object");
    const auto& version = member(doc, "format_version", src, "the top level");
    if (!version.IsInt() || version.GetInt() != kFormatVersion)
        corrupt(src,
                "unsupported format_version; this localcore reads version " + std::to_string(kFormatVersion));

    RegistryData data;
    for (const auto& m : object_member(doc, "things", src, "the top level").GetObject()) {
        Thing t;
        t.name.assign(m.name.GetString(), m.name.GetStringLength());
        const std::string where = "thing " + t.name;
        if (!m.value.IsObject()) corrupt(src, std::string(where) + " is not an object");
        for (const auto& a : object_member(m.value, "attributes", src, where).GetObject()) {
            if (!a.value.IsString()) corrupt(src, std::string(where) + " has a non-string attribute");
            t.attributes.emplace(std::string(a.name.GetString(), a.name.GetStringLength()),
                                 std::string(a.value.GetString(), a.value.GetStringLength()));
        }
        data.things.emplace(t.name, std::move(t));
    }
    for (const auto& m : object_member(doc, "certificates", src, "the top level").GetObject()) {
        Certificate c;
        c.id.assign(m.name.GetString(), m.name.GetStringLength());
        const std::string where = "certificate " + c.id;
        if (!m.value.IsObject()) corrupt(src, std::string(where) + " is not an object");
        c.pem = string_member(m.value, "pem", src, where);
        try {
            c.status = parse_cert_status(string_member(m.value, "status", src, where));
        } catch (const Error&) {
            corrupt(src, std::string(where) + " has an unknown status");
        }
        c.created = int_member(m.value, "created", src, where);
        c.not_after = int_member(m.value, "not_after", src, where);
        c.subject_cn = string_member(m.value, "subject_cn", src, where);
        c.things = string_array(m.value, "things", src, where);
        c.policies = string_array(m.value, "policies", src, where);
        // Optional: absent in files written before it existed, and whenever it is empty.
        if (m.value.HasMember("retired_by_rotation_of"))
            c.retired_by_rotation_of = string_member(m.value, "retired_by_rotation_of", src, where);
        data.certificates.emplace(c.id, std::move(c));
    }
    for (const auto& m : object_member(doc, "policies", src, "the top level").GetObject()) {
        PolicyRecord p;
        p.name.assign(m.name.GetString(), m.name.GetStringLength());
        if (!m.value.IsObject()) corrupt(src, "policy " + p.name + " is not an object");
        p.document = string_member(m.value, "document", src, "policy " + p.name);
        data.policies.emplace(p.name, std::move(p));
    }
    return data;
}

std::string registry_to_json(const RegistryData& data) {
    rapidjson::StringBuffer buf;
    rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
    w.SetIndent(' ', 2);
    auto str = [&w](const std::string& s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); };
    w.StartObject();
    w.Key("format_version");
    w.Int(kFormatVersion);
    w.Key("things");
    w.StartObject();
    for (const auto& [name, t] : data.things) {
        str(name);
        w.StartObject();
        w.Key("attributes");
        w.StartObject();
        for (const auto& [k, v] : t.attributes) {
            str(k);
            str(v);
        }
        w.EndObject();
        w.EndObject();
    }
    w.EndObject();
    w.Key("certificates");
    w.StartObject();
    for (const auto& [id, c] : data.certificates) {
        str(id);
        w.StartObject();
        w.Key("status");
        str(std::string(to_string(c.status)));
        w.Key("created");
        w.Int64(c.created);
        w.Key("not_after");
        w.Int64(c.not_after);
        w.Key("subject_cn");
        str(c.subject_cn);
        w.Key("things");
        w.StartArray();
        for (const auto& t : c.things) str(t);
        w.EndArray();
        w.Key("policies");
        w.StartArray();
        for (const auto& p : c.policies) str(p);
        w.EndArray();
        if (!c.retired_by_rotation_of.empty()) {
            w.Key("retired_by_rotation_of");
            str(c.retired_by_rotation_of);
        }
        w.Key("pem");
        str(c.pem);
        w.EndObject();
    }
    w.EndObject();
    w.Key("policies");
    w.StartObject();
    for (const auto& [name, p] : data.policies) {
        str(name);
        w.StartObject();
        w.Key("document");
        str(p.document);
        w.EndObject();
    }
    w.EndObject();
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

}  // namespace localcore
