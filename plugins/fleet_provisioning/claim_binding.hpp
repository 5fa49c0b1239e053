// Which device a claim certificate may provision (claim_scope, docs/runbook-ja.md). A per-device
// claim certificate names its device in the subject CN (`localcore issue-claim-cert --thing`,
// `iotgw factory claim-csr`), and the pre-provisioning hook refuses any other serial; a gateway
// configured with another device's claim certificate can therefore never provision, and says so
// before it tries instead of being refused by the backend.
#pragma once

#include <optional>
#include <string>

namespace iotgw::plugins::fleet_provisioning {

enum class ClaimScope {
    device,  // the claim certificate's subject CN must be this gateway's thing name
    fleet,  // a fleet-wide claim certificate (the weaker mode): any device holding it can register any serial
};

// The subject CN of the first certificate in the PEM file `path`; nullopt when it cannot be read
// ("" when the subject has no CN).
std::optional<std::string> certificate_common_name(const std::string& path);

// "" when a claim certificate whose subject CN is `common_name` may provision `thing` with
// claim_scope = "device"; otherwise the sentence that says so, naming the claim credentials
// instance, the certificate file, both names and the fix.
std::string claim_binding_problem(const std::string& common_name, const std::string& thing,
                                  const std::string& claim_instance, const std::string& cert_path);

}  // namespace iotgw::plugins::fleet_provisioning
