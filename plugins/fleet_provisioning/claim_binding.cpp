#include "claim_binding.hpp"

#include <iotgw/plugins/common/cert_fields.hpp>
#include <iotgw/plugins/common/openssl_ptr.hpp>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>

namespace iotgw::plugins::fleet_provisioning {

std::optional<std::string> certificate_common_name(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) return std::nullopt;
    common::X509Ptr x(PEM_read_X509(f, nullptr, nullptr, nullptr));
    std::fclose(f);
    if (!x) return std::nullopt;
    const std::string cn = common::common_name(x.get());
    return cn == "(no CN)" ? std::string() : cn;  // common_name's text for a subject without CN
}

std::string claim_binding_problem(const std::string& common_name, const std::string& thing,
                                  const std::string& claim_instance, const std::string& cert_path) {
    if (common_name == thing) return "";
    const std::string bound =
        common_name.empty() ? "no device (its subject has no CN)" : "'" + common_name + "' (its subject CN)";
    return "claim_scope = \"device\": the claim certificate " + cert_path + " of credentials instance '" +
           claim_instance + "' is bound to " + bound + ", not to this gateway's thing '" + thing +
           "'; the pre-provisioning hook would refuse every request. Install " + thing +
           "'s own claim certificate (iotgw factory claim-csr / claim-install), or set claim_scope = "
           "\"fleet\" if it is a fleet-wide one";
}

}  // namespace iotgw::plugins::fleet_provisioning
