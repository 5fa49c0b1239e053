#include "rotation.hpp"

#include <algorithm>
#include <optional>
#include <string>

#include <rapidjson/document.h>
#include <iotgw/sdk/json_parse.hpp>

#include "json_out.hpp"

namespace localcore {
namespace {

constexpr std::string_view kPrefix = "amr/";
constexpr std::string_view kSuffix = "/certificate/rotated";
constexpr std::size_t kMaxClientToken = 64;  // as the shadow service's clientToken

std::optional<std::string_view> thing_of(std::string_view topic) {
    if (topic.size() <= kPrefix.size() + kSuffix.size() || topic.rfind(kPrefix, 0) != 0 ||
        topic.substr(topic.size() - kSuffix.size()) != kSuffix)
        return std::nullopt;
    auto thing = topic.substr(kPrefix.size(), topic.size() - kPrefix.size() - kSuffix.size());
    if (thing.find('/') != std::string_view::npos) return std::nullopt;
    return thing;
}

struct Rejection {
    int code;
    std::string message;
};

// Thrown out of Registry::update when the request is already satisfied, so nothing is written.
struct AlreadyDone {};

std::optional<std::string> certificate_id(std::string_view text) {
    if (text.size() != 64) return std::nullopt;
    std::string out(text);
    for (auto& c : out) {
        if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
    }
    return out;
}

bool contains(const std::vector<std::string>& v, std::string_view value) {
    return std::find(v.begin(), v.end(), value) != v.end();
}

struct Request {
    std::optional<std::string> client_token;
    std::string old_id;
};

// Reads the payload into `request`; throws Rejection. The clientToken is stored as soon as it is read,
// so a rejection of the rest of the payload still echoes it.
void parse_request(std::string_view payload, Request& request) {
    rapidjson::Document doc;
    const auto json = iotgw::sdk::parse_json(doc, payload);
    const char* example = "{\"oldCertificateId\": \"<64 hex characters>\", \"clientToken\": \"...\"}";
    if (!json)
        throw Rejection{400, "the payload is not a JSON object (" + json.message + "); send " + example};
    if (!doc.IsObject())
        throw Rejection{400, std::string("the payload is not a JSON object; send ") + example};
    if (auto t = doc.FindMember("clientToken"); t != doc.MemberEnd()) {
        if (!t->value.IsString() || t->value.GetStringLength() > kMaxClientToken)
            throw Rejection{400, "clientToken must be a string of at most 64 bytes"};
        request.client_token = std::string(t->value.GetString(), t->value.GetStringLength());
    }
    auto old = doc.FindMember("oldCertificateId");
    std::optional<std::string> parsed;
    if (old != doc.MemberEnd() && old->value.IsString())
        parsed = certificate_id(std::string_view(old->value.GetString(), old->value.GetStringLength()));
    if (!parsed)
        throw Rejection{400, std::string("oldCertificateId is missing or not a certificate id (64 hex "
                                         "characters); send ") +
                                 example};
    request.old_id = *parsed;
}

// What can be checked without the registry: the connection reports for its own thing, from a
// connection made with a certificate other than the one being retired.
void check_requester(const RequesterContext& requester, const std::string& thing, const std::string& old_id,
                     const std::string& new_id) {
    if (!requester.thing || *requester.thing != thing)
        throw Rejection{
            403, "this connection is " +
                     (requester.thing ? "thing '" + *requester.thing + "'" : std::string("not a thing")) +
                     ", not '" + thing +
                     "'; a device reports only its own rotation, on amr/<its thing>/certificate/"
                     "rotated"};
    if (old_id == new_id)
        throw Rejection{400,
                        "oldCertificateId is the certificate of this connection; send the id of the "
                        "certificate being replaced, connected with the new one"};
}

// The connection's certificate (the new one) must be ACTIVE and attached to the thing.
void check_new_certificate(const RegistryData& data, const std::string& thing, const std::string& new_id) {
    auto current = data.certificates.find(new_id);
    if (current == data.certificates.end() || current->second.status != CertStatus::Active)
        throw Rejection{403,
                        "this connection's certificate is not ACTIVE; connect with the new, "
                        "active certificate before reporting the rotation"};
    if (!contains(current->second.things, thing))
        throw Rejection{403, "this connection's certificate is not attached to thing '" + thing +
                                 "'; register the new certificate for this thing first"};
}

// Old -> INACTIVE and detached from the thing, remembering which thing retired it. Throws
// AlreadyDone when this thing's previous report did it.
void retire_old_certificate(RegistryData& data, const std::string& thing, const std::string& old_id) {
    auto previous = data.certificates.find(old_id);
    if (previous == data.certificates.end())
        throw Rejection{404, "certificate " + old_id + " does not exist; check oldCertificateId"};
    auto& old_cert = previous->second;
    if (old_cert.status == CertStatus::Revoked)
        throw Rejection{409, "certificate " + old_id +
                                 " is REVOKED, which is permanent; it cannot become INACTIVE and needs "
                                 "no rotation"};
    if (!contains(old_cert.things, thing)) {
        // Already deactivated and detached by this thing's rotation: the retry of a rotation whose
        // reply was lost. Only this thing's: any other INACTIVE, detached certificate gets the same
        // answer as one attached elsewhere, so a device learns nothing about others' certificates.
        if (old_cert.status == CertStatus::Inactive && old_cert.things.empty() &&
            old_cert.retired_by_rotation_of == thing)
            throw AlreadyDone{};
        throw Rejection{403, "certificate " + old_id + " is not attached to thing '" + thing +
                                 "'; a device can only retire its own certificates"};
    }
    old_cert.status = CertStatus::Inactive;
    old_cert.retired_by_rotation_of = thing;
    old_cert.things.erase(std::remove(old_cert.things.begin(), old_cert.things.end(), thing),
                          old_cert.things.end());
}

// JsonOut is not movable (its writer points at its buffer), hence the reference.
std::vector<OutboundMessage> reply(const std::string& request_topic, bool accepted, JsonOut& out,
                                   const std::optional<std::string>& client_token) {
    if (client_token) out.field("clientToken", *client_token);
    std::vector<OutboundMessage> replies;
    replies.push_back(
        OutboundMessage{request_topic + (accepted ? "/accepted" : "/rejected"), out.done(), true});
    return replies;
}

}  // namespace

bool CertificateRotation::is_request_topic(std::string_view topic) { return thing_of(topic).has_value(); }

std::vector<OutboundMessage> CertificateRotation::handle(std::string_view topic, std::string_view payload,
                                                         const RequesterContext& requester, std::int64_t) {
    const auto topic_thing = thing_of(topic);
    if (!topic_thing) return {};
    const std::string thing(*topic_thing);
    const std::string base(topic);
    Request request;
    const std::string new_id = certificate_id(requester.certificate_id).value_or(requester.certificate_id);
    try {
        parse_request(payload, request);
        check_requester(requester, thing, request.old_id, new_id);
        registry_.update([&](RegistryData& data) {
            check_new_certificate(data, thing, new_id);
            retire_old_certificate(data, thing, request.old_id);
        });
    } catch (const AlreadyDone&) {
        // fall through to accepted
    } catch (const Rejection& r) {
        JsonOut out;
        out.field("code", r.code).field("message", r.message);
        return reply(base, false, out, request.client_token);
    } catch (const std::exception& e) {
        JsonOut out;
        out.field("code", 500).field("message", std::string("internal failure: ") + e.what());
        return reply(base, false, out, request.client_token);
    }
    JsonOut out;
    out.field("oldCertificateId", request.old_id)
        .field("newCertificateId", new_id)
        .field("status", "INACTIVE");
    return reply(base, true, out, request.client_token);
}

}  // namespace localcore
