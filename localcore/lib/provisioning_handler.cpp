// The fleet provisioning request topics: payload checks, certificate creation, RegisterThing applied
// to the registry in one locked update, and the /accepted or /rejected reply.
#include <algorithm>
#include <set>

#include <rapidjson/document.h>
#include <iotgw/sdk/json_parse.hpp>

#include "json_out.hpp"
#include "provisioning.hpp"
#include "provisioning_hook.hpp"

namespace localcore {
namespace {

// The subject of certificates made by CreateKeysAndCertificate (AWS writes "AWS IoT Certificate").
// CreateCertificateFromCsr keeps the CSR's subject, as AWS does.
constexpr std::string_view kCreatedCertificateCn = "localcore device";

constexpr std::string_view kCreate = "$aws/certificates/create/";
constexpr std::string_view kCreateFromCsr = "$aws/certificates/create-from-csr/";
constexpr std::string_view kTemplates = "$aws/provisioning-templates/";
constexpr std::string_view kProvision = "/provision/";

enum class Api { create, create_from_csr, register_thing };

struct RequestTopic {
    Api api;
    std::string_view format;         // json or cbor
    std::string_view template_name;  // register_thing only
};

std::optional<RequestTopic> parse_topic(std::string_view topic) {
    const auto format_ok = [](std::string_view f) { return f == "json" || f == "cbor"; };
    if (topic.rfind(kCreate, 0) == 0) {
        auto f = topic.substr(kCreate.size());
        if (format_ok(f)) return RequestTopic{Api::create, f, {}};
        return std::nullopt;
    }
    if (topic.rfind(kCreateFromCsr, 0) == 0) {
        auto f = topic.substr(kCreateFromCsr.size());
        if (format_ok(f)) return RequestTopic{Api::create_from_csr, f, {}};
        return std::nullopt;
    }
    if (topic.rfind(kTemplates, 0) == 0) {
        auto rest = topic.substr(kTemplates.size());
        const auto slash = rest.find('/');
        if (slash == 0 || slash == std::string_view::npos) return std::nullopt;
        auto name = rest.substr(0, slash);
        auto tail = rest.substr(slash);
        if (tail.rfind(kProvision, 0) != 0) return std::nullopt;
        auto f = tail.substr(kProvision.size());
        if (format_ok(f)) return RequestTopic{Api::register_thing, f, name};
    }
    return std::nullopt;
}

// A /rejected reply, thrown from anywhere in a request (including inside Registry::update, which then
// writes nothing).
struct Rejection {
    int status;
    std::string code;
    std::string message;
};

std::vector<OutboundMessage> reply(const std::string& reply_base, bool accepted, std::string payload) {
    std::vector<OutboundMessage> out;
    out.push_back(
        OutboundMessage{reply_base + (accepted ? "/accepted" : "/rejected"), std::move(payload), true});
    return out;
}

std::vector<OutboundMessage> rejected(const std::string& reply_base, const Rejection& r) {
    return reply(reply_base, false,
                 JsonOut()
                     .field("statusCode", r.status)
                     .field("errorCode", r.code)
                     .field("errorMessage", r.message)
                     .done());
}

[[noreturn]] void invalid_payload(const std::string& what) { throw Rejection{400, "InvalidPayload", what}; }

// Parses a request payload that must be a JSON object (`allow_empty`: or nothing at all).
rapidjson::Document parse_object(std::string_view payload, bool allow_empty, const char* example) {
    rapidjson::Document doc;
    if (allow_empty && payload.find_first_not_of(" \t\r\n") == std::string_view::npos) {
        doc.SetObject();
        return doc;
    }
    if (const auto parsed = iotgw::sdk::parse_json(doc, payload); !parsed)
        invalid_payload("the payload is not a JSON object (" + parsed.message + "); send " + example);
    if (!doc.IsObject()) invalid_payload(std::string("the payload is not a JSON object; send ") + example);
    return doc;
}

void insert_sorted(std::vector<std::string>& v, const std::string& value) {
    auto it = std::lower_bound(v.begin(), v.end(), value);
    if (it == v.end() || *it != value) v.insert(it, value);
}

std::int64_t to_ms(std::chrono::seconds s) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(s).count();
}

// Applies an evaluated template to the registry content (inside Registry::update).
void apply_plan(RegistryData& data, const ProvisioningPlan& plan, const std::string& template_name,
                const std::string& cert_id) {
    auto cert = data.certificates.find(cert_id);
    if (cert == data.certificates.end())
        throw Rejection{400, "InvalidCertificateOwnershipToken",
                        "the certificate of this ownership token no longer exists; create a new certificate"};
    if (cert->second.status == CertStatus::Revoked)
        throw Rejection{
            403, "AccessDenied",
            "the certificate of this ownership token is REVOKED, which is permanent; create a new "
            "certificate"};

    for (const auto& p : plan.policies) {
        if (p.document) {
            data.policies[p.name] = PolicyRecord{p.name, *p.document};
        } else if (!data.policies.count(p.name)) {
            throw Rejection{500, "InternalFailure",
                            "template '" + template_name + "' resource '" + p.logical_name + "': policy '" +
                                p.name + "' does not exist; add it with `localcore put-policy " + p.name +
                                " FILE`"};
        }
        insert_sorted(cert->second.policies, p.name);
    }

    if (plan.thing) {
        const auto& t = *plan.thing;
        auto it = data.things.find(t.name);
        if (it == data.things.end()) {
            data.things.emplace(t.name,
                                Thing{t.name, t.attributes.value_or(std::map<std::string, std::string>{})});
        } else if (t.attributes) {
            auto& existing = it->second.attributes;
            switch (t.attributes_override) {
                case OverrideAction::do_nothing:
                    break;
                case OverrideAction::replace:
                    existing = *t.attributes;
                    break;
                case OverrideAction::merge:
                    for (const auto& [k, v] : *t.attributes) existing[k] = v;
                    break;
                case OverrideAction::fail:
                    throw Rejection{
                        409, "ResourceConflictsException",
                        "thing '" + t.name + "' already exists and template '" + template_name +
                            "' sets OverrideSettings AttributePayload to FAIL; delete the thing or "
                            "change the override"};
            }
        }
        insert_sorted(cert->second.things, t.name);
    }
    cert->second.status = plan.certificate_status;
}

struct RegisterThingRequest {
    std::string token;
    rapidjson::Document doc;
    const rapidjson::Value* parameters = nullptr;  // as sent; nullptr when absent or null
};

// The RegisterThing payload; a Rejection when it is not an object or the token is missing.
RegisterThingRequest parse_register_thing(std::string_view payload) {
    RegisterThingRequest request;
    request.doc = parse_object(
        payload, false, "{\"certificateOwnershipToken\": \"...\", \"parameters\": {\"Name\": \"value\"}}");
    const auto& doc = request.doc;
    if (auto t = doc.FindMember("certificateOwnershipToken"); t != doc.MemberEnd() && !t->value.IsNull()) {
        if (!t->value.IsString()) invalid_payload("certificateOwnershipToken must be a string");
        request.token.assign(t->value.GetString(), t->value.GetStringLength());
    }
    if (request.token.empty())
        throw Rejection{400, "InvalidCertificateOwnershipToken",
                        "Certificate ownership token cannot be empty."};
    if (auto p = doc.FindMember("parameters"); p != doc.MemberEnd() && !p->value.IsNull())
        request.parameters = &p->value;
    return request;
}

// The parameters as the template takes them; a Rejection when they are not an object of strings.
std::map<std::string, std::string> string_parameters(const rapidjson::Value* parameters) {
    std::map<std::string, std::string> out;
    if (parameters == nullptr) return out;
    if (!parameters->IsObject()) invalid_payload("parameters must be an object of names to string values");
    for (const auto& m : parameters->GetObject()) {
        const std::string name(m.name.GetString(), m.name.GetStringLength());
        if (!m.value.IsString())
            invalid_payload("parameters/" + name + " must be a string; quote numbers and booleans");
        out[name] = std::string(m.value.GetString(), m.value.GetStringLength());
    }
    return out;
}

// The template's pre-provisioning hook, if it has one; a Rejection when its file is invalid.
std::optional<PreProvisioningHookConfig> load_hook(const std::filesystem::path& templates_dir,
                                                   std::string_view template_name) {
    if (!ProvisioningTemplate::valid_name(template_name)) return std::nullopt;  // load_template refuses
    try {
        return PreProvisioningHookConfig::load(templates_dir, template_name);
    } catch (const Error& e) {
        throw Rejection{500, "InternalFailure", e.what()};
    }
}

// The template NAME from templates_dir; a Rejection when there is none or it is invalid.
ProvisioningTemplate load_template(const std::filesystem::path& templates_dir,
                                   std::string_view template_name) {
    if (!ProvisioningTemplate::valid_name(template_name))
        throw Rejection{404, "ResourceNotFound",
                        "no provisioning template '" + std::string(template_name) +
                            "': template names are 1 to 36 characters from A-Z a-z 0-9 _ -"};
    std::optional<ProvisioningTemplate> tmpl;
    try {
        tmpl = ProvisioningTemplate::load(templates_dir, template_name);
    } catch (const TemplateError& e) {
        throw Rejection{500, "InternalFailure", e.what()};
    }
    if (!tmpl)
        throw Rejection{404, "ResourceNotFound",
                        "no provisioning template '" + std::string(template_name) + "'; add " +
                            ProvisioningTemplate::file_for(templates_dir, template_name).string() +
                            " or fix the topic"};
    return std::move(*tmpl);
}

}  // namespace

FleetProvisioning::FleetProvisioning(Registry& registry, const Ca& ca, std::filesystem::path data_dir,
                                     ProvisioningOptions options)
    : registry_(registry),
      ca_(ca),
      options_(std::move(options)),
      tokens_(data_dir / "provisioning" / "tokens.json") {}

bool FleetProvisioning::is_request_topic(std::string_view topic) { return parse_topic(topic).has_value(); }

std::vector<OutboundMessage> FleetProvisioning::handle(std::string_view topic, std::string_view payload,
                                                       const RequesterContext& requester,
                                                       std::int64_t now_ms) {
    const auto request = parse_topic(topic);
    if (!request) return {};
    const std::string reply_base(topic);
    try {
        if (request->format != "json") {
            std::string json_topic(topic.substr(0, topic.size() - request->format.size()));
            json_topic += "json";
            throw Rejection{
                400, "UnsupportedPayloadFormat",
                "localcore supports only the json payload format; publish to " + json_topic + " instead"};
        }
        switch (request->api) {
            case Api::create:
                return create_keys(reply_base, payload, now_ms);
            case Api::create_from_csr:
                return create_from_csr(reply_base, payload, now_ms);
            case Api::register_thing:
                return register_thing(reply_base, request->template_name, payload, requester, now_ms);
        }
        throw Rejection{500, "InternalFailure", "unknown request"};
    } catch (const Rejection& r) {
        return rejected(reply_base, r);
    } catch (const std::exception& e) {
        return rejected(reply_base,
                        Rejection{500, "InternalFailure", std::string("internal failure: ") + e.what()});
    }
}

std::string FleetProvisioning::store_pending(const std::string& cert_pem, const std::string& cert_id,
                                             std::int64_t now_ms) {
    // The token is written first: a crash in between leaves a token without a certificate (dropped
    // when it expires), never a pending certificate nothing would ever delete.
    auto token = tokens_.issue(cert_id, now_ms + to_ms(options_.ownership_token_ttl));
    try {
        registry_.add_certificate(cert_pem, CertStatus::PendingActivation);
    } catch (...) {
        try {
            tokens_.remove(token);
        } catch (...) {  // it expires on its own
        }
        throw;
    }
    return token;
}

std::vector<OutboundMessage> FleetProvisioning::create_keys(const std::string& reply_base,
                                                            std::string_view payload, std::int64_t now_ms) {
    (void)parse_object(payload, true, "{} (or nothing)");
    if (tokens_.size() >= options_.max_pending_certificates)
        throw Rejection{
            429, "ThrottlingException",
            std::to_string(tokens_.size()) +
                " certificates are awaiting RegisterThing; retry after some are registered or their "
                "ownership tokens expire"};
    const auto issued = ca_.issue(kCreatedCertificateCn, options_.certificate_lifetime);
    const auto id = inspect_certificate_pem(issued.cert_pem).fingerprint;
    const auto token = store_pending(issued.cert_pem, id, now_ms);
    return reply(reply_base, true,
                 JsonOut()
                     .field("certificateId", id)
                     .field("certificatePem", issued.cert_pem)
                     .field("privateKey", issued.key_pem)
                     .field("certificateOwnershipToken", token)
                     .done());
}

std::vector<OutboundMessage> FleetProvisioning::create_from_csr(const std::string& reply_base,
                                                                std::string_view payload,
                                                                std::int64_t now_ms) {
    const char* example = "{\"certificateSigningRequest\": \"-----BEGIN CERTIFICATE REQUEST-----...\"}";
    auto doc = parse_object(payload, false, example);
    auto csr = doc.FindMember("certificateSigningRequest");
    if (csr == doc.MemberEnd() || !csr->value.IsString() || csr->value.GetStringLength() == 0)
        invalid_payload(std::string("certificateSigningRequest is missing or not a non-empty string; send ") +
                        example);
    if (tokens_.size() >= options_.max_pending_certificates)
        throw Rejection{
            429, "ThrottlingException",
            std::to_string(tokens_.size()) +
                " certificates are awaiting RegisterThing; retry after some are registered or their "
                "ownership tokens expire"};
    std::string pem;
    try {
        pem = ca_.sign_csr(std::string_view(csr->value.GetString(), csr->value.GetStringLength()),
                           options_.certificate_lifetime, "");
    } catch (const Error& e) {
        throw Rejection{400, "InvalidCSR", e.what()};
    }
    const auto id = inspect_certificate_pem(pem).fingerprint;
    const auto token = store_pending(pem, id, now_ms);
    return reply(reply_base, true,
                 JsonOut()
                     .field("certificateId", id)
                     .field("certificatePem", pem)
                     .field("certificateOwnershipToken", token)
                     .done());
}

std::vector<OutboundMessage> FleetProvisioning::register_thing(const std::string& reply_base,
                                                               std::string_view template_name,
                                                               std::string_view payload,
                                                               const RequesterContext& requester,
                                                               std::int64_t now_ms) {
    const auto request = parse_register_thing(payload);
    const auto hook = load_hook(options_.templates_dir, template_name);
    // Without a hook the parameters are checked with the payload, as before hooks existed; with one,
    // the hook judges them first (it refuses anything but SerialNumber).
    std::map<std::string, std::string> parameters;
    if (!hook) parameters = string_parameters(request.parameters);
    const auto entry = tokens_.find(request.token, now_ms);
    if (!entry) {
        if (tokens_.expired(request.token, now_ms))
            throw Rejection{400, "InvalidCertificateOwnershipToken",
                            "the certificate ownership token expired (tokens are valid for " +
                                std::to_string(options_.ownership_token_ttl.count()) +
                                " s); create a new certificate"};
        throw Rejection{400, "InvalidCertificateOwnershipToken",
                        "the certificate ownership token is unknown or was already used; create a new "
                        "certificate and use the token it returns"};
    }

    const auto tmpl = load_template(options_.templates_dir, template_name);
    ProvisioningPlan plan;
    // The hook decides on the registry as it is inside the update, so a lock set at the same moment is
    // either seen or set after the thing was provisioned, never lost in between.
    registry_.update([&](RegistryData& data) {
        if (hook) {
            const auto decision =
                run_pre_provisioning_hook(*hook, data, requester.certificate_id, request.parameters);
            if (!decision.allow)
                throw Rejection{403, "AccessDenied",
                                "the pre-provisioning hook refused the request (" + decision.reason +
                                    "): " + decision.message};
            parameters = string_parameters(request.parameters);
        }
        try {
            plan = tmpl.evaluate(parameters, entry->certificate_id);
        } catch (const TemplateParameterError& e) {
            throw Rejection{400, "InvalidParameters", e.what()};
        }
        apply_plan(data, plan, tmpl.name(), entry->certificate_id);
    });
    try {
        tokens_.remove(request.token);  // single use
    } catch (...) {
        // The device is provisioned; a token left behind only expires later (its certificate is no
        // longer PENDING_ACTIVATION, so expire() keeps it).
    }

    JsonOut out;
    if (plan.thing) out.field("thingName", plan.thing->name);
    return reply(reply_base, true, out.object("deviceConfiguration", plan.device_configuration).done());
}

void FleetProvisioning::expire(std::int64_t now_ms) {
    if (now_ms < tokens_.next_expiry_ms()) return;
    std::set<std::string> ids;
    for (const auto& e : tokens_.expired_entries(now_ms)) ids.insert(e.certificate_id);
    const auto deletable = [&](const RegistryData& data, const std::string& id) {
        auto it = data.certificates.find(id);
        return it != data.certificates.end() && it->second.status == CertStatus::PendingActivation &&
               it->second.things.empty() && it->second.policies.empty();
    };
    const auto snapshot = registry_.snapshot();
    if (std::any_of(ids.begin(), ids.end(), [&](const std::string& id) { return deletable(snapshot, id); })) {
        registry_.update([&](RegistryData& data) {
            for (const auto& id : ids)
                if (deletable(data, id)) data.certificates.erase(id);
        });
    }
    tokens_.remove_expired(now_ms);
}

}  // namespace localcore
