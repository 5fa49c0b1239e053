// The built-in pre-provisioning hook: the pure decision, its JSON form for the shared case table,
// and the NAME-hook.json configuration.
#include "provisioning_hook.hpp"

#include <stdexcept>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <iotgw/sdk/json_parse.hpp>

#include "atomic_file.hpp"
#include "registry.hpp"

namespace localcore {
namespace {

constexpr std::string_view kSerial = "SerialNumber";
constexpr std::string_view kRules = "device-bound-claim";

PreProvisioningDecision refuse(std::string reason, std::string message) {
    return {false, std::move(reason), std::move(message)};
}

bool valid_thing_name(std::string_view name) {
    try {
        validate_thing_name(name);
        return true;
    } catch (const Error&) {
        return false;
    }
}

// nullopt when the parameters are acceptable, else the sentence saying why not.
std::optional<std::string> parameters_problem(const rapidjson::Value* parameters) {
    if (parameters == nullptr || !parameters->IsObject())
        return std::string("parameters must be an object with exactly one member, SerialNumber");
    for (const auto& m : parameters->GetObject()) {
        const std::string_view name(m.name.GetString(), m.name.GetStringLength());
        if (name != kSerial)
            return "parameter '" + std::string(name) + "' is not accepted; send only SerialNumber";
    }
    const auto serial = requested_serial(parameters);
    if (!serial) return std::string("SerialNumber is missing or not a string");
    if (!valid_thing_name(*serial))
        return std::string(
            "SerialNumber is not a valid thing name (1 to 128 characters from a-z A-Z 0-9 : _ -)");
    return std::nullopt;
}

const rapidjson::Value& member(const rapidjson::Value& obj, const char* name) {
    if (!obj.IsObject()) throw std::invalid_argument(std::string("expected an object holding ") + name);
    const auto it = obj.FindMember(name);
    if (it == obj.MemberEnd()) throw std::invalid_argument(std::string("missing member ") + name);
    return it->value;
}

}  // namespace

std::optional<std::string> requested_serial(const rapidjson::Value* parameters) {
    if (parameters == nullptr || !parameters->IsObject()) return std::nullopt;
    const auto it = parameters->FindMember(kSerial.data());
    if (it == parameters->MemberEnd() || !it->value.IsString()) return std::nullopt;
    return std::string(it->value.GetString(), it->value.GetStringLength());
}

PreProvisioningDecision decide_pre_provisioning(const PreProvisioningFacts& facts) {
    if (auto problem = parameters_problem(facts.parameters)) return refuse("invalid_parameters", *problem);
    const std::string serial = *requested_serial(facts.parameters);
    // Before the claim binding, and for fleet-wide claims too: no claim certificate may create a thing
    // outside the name space the console's role is written for.
    if (!serial.starts_with(facts.thing_name_prefix))
        return refuse("name_outside_prefix",
                      "thing name " + serial + " does not start with the required prefix " +
                          facts.thing_name_prefix +
                          " (thingNamePrefix): the console's role covers only things named " +
                          facts.thing_name_prefix + "*");
    if (!facts.claim_fleet_wide) {
        if (!facts.claim_common_name || facts.claim_common_name->empty())
            return refuse("claim_not_device_bound",
                          "the claim certificate names no device (no subject common name) and is not on the "
                          "fleet-wide allow-list");
        if (*facts.claim_common_name != serial)
            return refuse("serial_mismatch",
                          "claim certificate is bound to " + *facts.claim_common_name + ", not " + serial);
    }
    if (facts.thing_attributes) {
        const auto locked = facts.thing_attributes->find("locked");
        // Anything but an explicit "false" keeps the lock: a typo must not unlock a device.
        if (locked != facts.thing_attributes->end() && locked->second != "false")
            return refuse("thing_locked", "thing " + serial +
                                              " is locked by an operator; it cannot re-provision until it "
                                              "is unlocked");
    }
    return {true, "allowed", "allowed"};
}

std::string decide_pre_provisioning_json(std::string_view input_json) {
    rapidjson::Document doc;
    if (const auto parsed = iotgw::sdk::parse_json(doc, input_json); !parsed)
        throw std::invalid_argument("the input is not JSON (" + parsed.message + ")");
    const auto& claim = member(doc, "claim");
    const auto& cn = member(claim, "subjectCommonName");
    const auto& fleet_wide = member(claim, "fleetWide");
    if (!(cn.IsNull() || cn.IsString()) || !fleet_wide.IsBool())
        throw std::invalid_argument(
            "claim.subjectCommonName must be a string or null, claim.fleetWide a bool");

    PreProvisioningFacts facts;
    if (cn.IsString()) facts.claim_common_name = std::string(cn.GetString(), cn.GetStringLength());
    facts.claim_fleet_wide = fleet_wide.GetBool();
    facts.parameters = &member(doc, "parameters");
    const auto& thing = member(doc, "thing");
    if (!thing.IsNull()) {
        std::map<std::string, std::string> attributes;
        for (const auto& a : member(thing, "attributes").GetObject()) {
            if (!a.value.IsString()) throw std::invalid_argument("thing attributes must be strings");
            attributes.emplace(std::string(a.name.GetString(), a.name.GetStringLength()),
                               std::string(a.value.GetString(), a.value.GetStringLength()));
        }
        facts.thing_attributes = std::move(attributes);
    }
    if (const auto prefix = doc.FindMember("thingNamePrefix"); prefix != doc.MemberEnd()) {
        if (!prefix->value.IsString()) throw std::invalid_argument("thingNamePrefix must be a string");
        facts.thing_name_prefix.assign(prefix->value.GetString(), prefix->value.GetStringLength());
    }

    const auto decision = decide_pre_provisioning(facts);
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("allowProvisioning");
    w.Bool(decision.allow);
    w.Key("reason");
    w.String(decision.reason.data(), static_cast<rapidjson::SizeType>(decision.reason.size()));
    w.EndObject();
    return {buf.GetString(), buf.GetSize()};
}

PreProvisioningDecision run_pre_provisioning_hook(const PreProvisioningHookConfig& config,
                                                  const RegistryData& data,
                                                  std::string_view claim_certificate_id,
                                                  const rapidjson::Value* parameters) {
    PreProvisioningFacts facts;
    const std::string claim_id(claim_certificate_id);
    if (const auto cert = data.certificates.find(claim_id);
        !claim_id.empty() && cert != data.certificates.end())
        facts.claim_common_name = cert->second.subject_cn;
    facts.claim_fleet_wide = !claim_id.empty() && config.fleet_wide_claim_certificate_ids.count(claim_id) > 0;
    facts.parameters = parameters;
    facts.thing_name_prefix = config.thing_name_prefix;
    if (const auto serial = requested_serial(parameters)) {
        if (const auto thing = data.things.find(*serial); thing != data.things.end())
            facts.thing_attributes = thing->second.attributes;
    }
    return decide_pre_provisioning(facts);
}

std::filesystem::path PreProvisioningHookConfig::file_for(const std::filesystem::path& dir,
                                                          std::string_view template_name) {
    return dir / (std::string(template_name) + "-hook.json");
}

std::optional<PreProvisioningHookConfig> PreProvisioningHookConfig::load(const std::filesystem::path& dir,
                                                                         std::string_view template_name) {
    const auto file = file_for(dir, template_name);
    const auto text = read_file_if_exists(file);
    if (!text) return std::nullopt;
    return parse(*text, file.string());
}

PreProvisioningHookConfig PreProvisioningHookConfig::parse(std::string_view json, const std::string& source) {
    const auto invalid = [&](const std::string& what) {
        return Error(
            "pre-provisioning hook " + source + ": " + what +
            "; write {\"rules\": \"device-bound-claim\", \"fleetWideClaimCertificateIds\": []} (optionally "
            "with \"thingNamePrefix\": \"AMR-\")");
    };
    rapidjson::Document doc;
    if (const auto parsed = iotgw::sdk::parse_json(doc, json); !parsed)
        throw invalid("not a JSON object (" + parsed.message + ")");
    if (!doc.IsObject()) throw invalid("not a JSON object");
    PreProvisioningHookConfig config;
    for (const auto& m : doc.GetObject()) {
        const std::string_view name(m.name.GetString(), m.name.GetStringLength());
        if (name == "rules") {
            if (!m.value.IsString() ||
                std::string_view(m.value.GetString(), m.value.GetStringLength()) != kRules)
                throw invalid("\"rules\" must be \"device-bound-claim\" (the only built-in rule set)");
        } else if (name == "fleetWideClaimCertificateIds") {
            if (!m.value.IsArray()) throw invalid("\"fleetWideClaimCertificateIds\" must be an array");
            for (const auto& id : m.value.GetArray()) {
                if (!id.IsString()) throw invalid("\"fleetWideClaimCertificateIds\" must hold strings");
                config.fleet_wide_claim_certificate_ids.emplace(id.GetString(), id.GetStringLength());
            }
        } else if (name == "thingNamePrefix") {
            // The rule of cloud/lib/params.ts: the start of a thing name, so no IAM wildcard, topic
            // level or policy variable; "" is refused (leave the member out for no prefix rule).
            if (!m.value.IsString() ||
                !valid_thing_name(std::string_view(m.value.GetString(), m.value.GetStringLength())))
                throw invalid(
                    "\"thingNamePrefix\" must be the start of a thing name (1 to 128 characters from "
                    "a-z A-Z 0-9 : _ -)");
            config.thing_name_prefix.assign(m.value.GetString(), m.value.GetStringLength());
        } else {
            throw invalid("unknown member \"" + std::string(name) + "\"");
        }
    }
    if (!doc.HasMember("rules")) throw invalid("\"rules\" is missing");
    return config;
}

}  // namespace localcore
