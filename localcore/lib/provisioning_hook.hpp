// The pre-provisioning hook of the amr template, built in: the rules an AWS pre-provisioning Lambda
// applies before RegisterThing (docs/aws-iot-core.md section 5, cloud/provisioning/README.md), as
// one pure decision. cloud/provisioning/pre-provisioning-cases.json is the table of cases both this
// code and the AWS Lambda are tested against, so the two cannot drift.
//
// Rules, first match wins:
//   invalid_parameters      parameters not an object, a key other than SerialNumber, or SerialNumber
//                           missing / not a string / not a valid thing name
//   name_outside_prefix     a thing-name prefix is configured and SerialNumber does not start with it
//                           (fleet-wide claims included)
//   claim_not_device_bound  not fleet-wide and the claim certificate has no (or an empty) common name
//   serial_mismatch         not fleet-wide and SerialNumber != the claim certificate's common name
//   thing_locked            the requested thing exists with attribute `locked` other than "false"
//   allowed
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

namespace localcore {

// What the hook knows when it decides.
struct PreProvisioningFacts {
    // The claim certificate's subject CN; nullopt when it has none (or is unknown).
    std::optional<std::string> claim_common_name;
    // The claim certificate's id is on the hook's explicit fleet-wide allow-list (the weaker mode).
    bool claim_fleet_wide = false;
    // RegisterThing's `parameters` exactly as sent (any JSON; null when absent).
    const rapidjson::Value* parameters = nullptr;
    // The attributes of the requested thing; nullopt when it does not exist.
    std::optional<std::map<std::string, std::string>> thing_attributes;
    // The deployment's thingNamePrefix (cloud/lib/params.ts); empty = no prefix rule. The console's
    // role allows the AMRs as `<prefix>*`, so the hook is where that naming rule is enforced.
    std::string thing_name_prefix;
};

struct PreProvisioningDecision {
    bool allow = false;
    // allowed | invalid_parameters | name_outside_prefix | claim_not_device_bound | serial_mismatch |
    // thing_locked
    std::string reason;
    // A sentence for logs and the device ("claim certificate is bound to AMR-001, not AMR-002");
    // never contains keys or tokens.
    std::string message;
};

PreProvisioningDecision decide_pre_provisioning(const PreProvisioningFacts& facts);

// The same decision over the case table's JSON form: input
// {"claim": {"subjectCommonName": string|null, "fleetWide": bool}, "parameters": any,
//  "thing": null | {"attributes": {...}}, "thingNamePrefix"?: string (absent or "": none)},
// output {"allowProvisioning": bool, "reason": string}.
// Throws std::invalid_argument when the input does not have that shape.
std::string decide_pre_provisioning_json(std::string_view input_json);

// The SerialNumber parameter when it is a string (for looking up the requested thing).
std::optional<std::string> requested_serial(const rapidjson::Value* parameters);

struct RegistryData;
struct PreProvisioningHookConfig;

// Gathers the facts from the registry and decides: the claim certificate is the certificate of the
// connection that published RegisterThing (`claim_certificate_id`, empty for none), its common name
// as stored from its PEM, and the thing named by SerialNumber.
PreProvisioningDecision run_pre_provisioning_hook(const PreProvisioningHookConfig& config,
                                                  const RegistryData& data,
                                                  std::string_view claim_certificate_id,
                                                  const rapidjson::Value* parameters);

// A template's hook configuration: the file NAME-hook.json next to NAME-template.json, standing in
// for the template's PreProvisioningHook property (AWS: the Lambda and its environment):
// {"rules": "device-bound-claim", "fleetWideClaimCertificateIds": ["<certificate id>", ...],
//  "thingNamePrefix": "AMR-"}; thingNamePrefix is optional (AWS: the Lambda's THING_NAME_PREFIX).
struct PreProvisioningHookConfig {
    std::set<std::string> fleet_wide_claim_certificate_ids;
    // Every requested thing name must start with it; empty (member absent) = no prefix rule.
    std::string thing_name_prefix;

    // dir / "NAME-hook.json".
    static std::filesystem::path file_for(const std::filesystem::path& dir, std::string_view template_name);
    // nullopt when the file does not exist (the template has no hook); Error when it is not valid.
    static std::optional<PreProvisioningHookConfig> load(const std::filesystem::path& dir,
                                                         std::string_view template_name);
    static PreProvisioningHookConfig parse(std::string_view json, const std::string& source);
};

}  // namespace localcore
