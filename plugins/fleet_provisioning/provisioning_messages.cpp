#include "provisioning_messages.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <iotgw/sdk/json_parse.hpp>

#include <cctype>
#include <stdexcept>

namespace iotgw::plugins::fleet_provisioning {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void put(Writer& w, const char* key, const std::string& value) {
    w.Key(key);
    w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

rapidjson::Document parse_object(const std::string& json, const char* what) {
    rapidjson::Document d;
    if (const auto parsed = sdk::parse_json(d, json); !parsed)
        throw std::runtime_error(std::string(what) + " is not a JSON object (" + parsed.message + ")");
    if (!d.IsObject()) throw std::runtime_error(std::string(what) + " is not a JSON object");
    return d;
}

std::string member(const rapidjson::Value& o, const char* key, const char* what) {
    auto it = o.FindMember(key);
    if (it == o.MemberEnd() || !it->value.IsString() || it->value.GetStringLength() == 0)
        throw std::runtime_error(std::string(what) + " has no string \"" + key + "\"");
    return std::string(it->value.GetString(), it->value.GetStringLength());
}

std::string optional_member(const rapidjson::Value& o, const char* key) {
    auto it = o.FindMember(key);
    if (it == o.MemberEnd()) return "";
    if (it->value.IsString()) return std::string(it->value.GetString(), it->value.GetStringLength());
    if (it->value.IsInt64()) return std::to_string(it->value.GetInt64());
    return "";
}

}  // namespace

std::string create_from_csr_request(const std::string& csr_pem) {
    rapidjson::StringBuffer b;
    Writer w(b);
    w.StartObject();
    put(w, "certificateSigningRequest", csr_pem);
    w.EndObject();
    return b.GetString();
}

std::string register_thing_request(const std::string& ownership_token,
                                   const std::vector<std::pair<std::string, std::string>>& parameters) {
    rapidjson::StringBuffer b;
    Writer w(b);
    w.StartObject();
    put(w, "certificateOwnershipToken", ownership_token);
    w.Key("parameters");
    w.StartObject();
    for (const auto& [k, v] : parameters) put(w, k.c_str(), v);
    w.EndObject();
    w.EndObject();
    return b.GetString();
}

std::string rotated_report(const std::string& old_certificate_id, const std::string& client_token) {
    rapidjson::StringBuffer b;
    Writer w(b);
    w.StartObject();
    put(w, "oldCertificateId", old_certificate_id);
    put(w, "clientToken", client_token);
    w.EndObject();
    return b.GetString();
}

CreatedCertificate parse_created_certificate(const std::string& json) {
    const auto d = parse_object(json, "the CreateCertificateFromCsr reply");
    const char* what = "the CreateCertificateFromCsr reply";
    return CreatedCertificate{member(d, "certificateId", what),
                              member(d, "certificatePem", what),
                              member(d, "certificateOwnershipToken", what),
                              {}};
}

CreatedCertificate parse_created_keys(const std::string& json) {
    const char* what = "the CreateKeysAndCertificate reply";
    const auto d = parse_object(json, what);
    return CreatedCertificate{member(d, "certificateId", what), member(d, "certificatePem", what),
                              member(d, "certificateOwnershipToken", what), member(d, "privateKey", what)};
}

std::string parse_registered_thing(const std::string& json) {
    const auto d = parse_object(json, "the RegisterThing reply");
    return optional_member(d, "thingName");
}

Rejection parse_rejection(const std::string& json) {
    rapidjson::Document d;
    if (!sdk::parse_json(d, json) || !d.IsObject()) return Rejection{"", "", json.substr(0, 200)};
    return Rejection{optional_member(d, "statusCode"), optional_member(d, "errorCode"),
                     optional_member(d, "errorMessage")};
}

bool is_refusal(const Rejection& rejection) {
    if (rejection.status_code == "403") return true;
    // Compared without case and underscores, and as a prefix: AccessDenied, ACCESS_DENIED,
    // AccessDeniedException.
    std::string code;
    for (const char c : rejection.error_code)
        if (c != '_') code += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return code.starts_with("accessdenied");
}

std::string describe_rejection(const std::string& json) {
    const Rejection r = parse_rejection(json);
    if (r.status_code.empty() && r.error_code.empty()) return "rejected: " + r.error_message;
    return r.status_code + " " + r.error_code + ": " + r.error_message;
}

std::string reply_client_token(const std::string& json) {
    rapidjson::Document d;
    if (!sdk::parse_json(d, json) || !d.IsObject()) return "";
    return optional_member(d, "clientToken");
}

std::string describe_rotation_rejection(const std::string& json) {
    rapidjson::Document d;
    if (!sdk::parse_json(d, json) || !d.IsObject()) return json.substr(0, 200);
    return optional_member(d, "code") + ": " + optional_member(d, "message");
}

}  // namespace iotgw::plugins::fleet_provisioning
