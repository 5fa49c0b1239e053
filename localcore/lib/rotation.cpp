#include "rotation.hpp"

#include <algorithm>
#include <optional>
#include <string>

#include <rapidjson/document.h>

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

}  // namespace

bool CertificateRotation::is_request_topic(std::string_view topic) { return thing_of(topic).has_value(); }

std::vector<OutboundMessage> CertificateRotation::handle(std::string_view topic, std::string_view payload,
                                                         const RequesterContext& requester, std::int64_t) {
    const auto topic_thing = thing_of(topic);
    if (!topic_thing) return {};
    const std::string thing(*topic_thing);
    const std::string base(topic);
    std::optional<std::string> client_token;
    // JsonOut is not movable (its writer points at its buffer), hence the reference.
    const auto finish = [&](bool accepted, JsonOut& out) {
        if (client_token) out.field("clientToken", *client_token);
        std::vector<OutboundMessage> replies;
        replies.push_back(OutboundMessage{base + (accepted ? "/accepted" : "/rejected"), out.done(), true});
        return replies;
    };

    std::string old_id;
    const std::string new_id = certificate_id(requester.certificate_id).value_or(requester.certificate_id);
    try {
        rapidjson::Document doc;
        doc.Parse(payload.data(), payload.size());
        const char* example = "{\"oldCertificateId\": \"<64 hex characters>\", \"clientToken\": \"...\"}";
        if (doc.HasParseError() || !doc.IsObject())
            throw Rejection{400, std::string("the payload is not a JSON object; send ") + example};
        if (auto t = doc.FindMember("clientToken"); t != doc.MemberEnd()) {
            if (!t->value.IsString() || t->value.GetStringLength() > kMaxClientToken)
                throw Rejection{400, "clientToken must be a string of at most 64 bytes"};
            client_token = std::string(t->value.GetString(), t->value.GetStringLength());
        }
        auto old = doc.FindMember("oldCertificateId");
        std::optional<std::string> parsed;
        if (old != doc.MemberEnd() && old->value.IsString())
            parsed = certificate_id(std::string_view(old->value.GetString(), old->value.GetStringLength()));
        if (!parsed)
            throw Rejection{400, std::string("oldCertificateId is missing or not a certificate id (64 hex "
                                             "characters); send ") +
                                     example};
        old_id = *parsed;

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

        registry_.update([&](RegistryData& data) {
            auto current = data.certificates.find(new_id);
            if (current == data.certificates.end() || current->second.status != CertStatus::Active)
                throw Rejection{403,
                                "this connection's certificate is not ACTIVE; connect with the new, "
                                "active certificate before reporting the rotation"};
            if (!contains(current->second.things, thing))
                throw Rejection{403, "this connection's certificate is not attached to thing '" + thing +
                                         "'; register the new certificate for this thing first"};
            auto previous = data.certificates.find(old_id);
            if (previous == data.certificates.end())
                throw Rejection{404, "certificate " + old_id + " does not exist; check oldCertificateId"};
            auto& old_cert = previous->second;
            if (old_cert.status == CertStatus::Revoked)
                throw Rejection{409,
                                "certificate " + old_id +
                                    " is REVOKED, which is permanent; it cannot become INACTIVE and needs "
                                    "no rotation"};
            if (!contains(old_cert.things, thing)) {
                // Already deactivated and detached: the retry of a rotation whose reply was lost.
                if (old_cert.status == CertStatus::Inactive && old_cert.things.empty()) throw AlreadyDone{};
                throw Rejection{403, "certificate " + old_id + " is not attached to thing '" + thing +
                                         "'; a device can only retire its own certificates"};
            }
            old_cert.status = CertStatus::Inactive;
            old_cert.things.erase(std::remove(old_cert.things.begin(), old_cert.things.end(), thing),
                                  old_cert.things.end());
        });
    } catch (const AlreadyDone&) {
        // fall through to accepted
    } catch (const Rejection& r) {
        JsonOut out;
        out.field("code", r.code).field("message", r.message);
        return finish(false, out);
    } catch (const std::exception& e) {
        JsonOut out;
        out.field("code", 500).field("message", std::string("internal failure: ") + e.what());
        return finish(false, out);
    }
    JsonOut out;
    out.field("oldCertificateId", old_id).field("newCertificateId", new_id).field("status", "INACTIVE");
    return finish(true, out);
}

}  // namespace localcore
