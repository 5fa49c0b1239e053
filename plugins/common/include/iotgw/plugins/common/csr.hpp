// The certificate signing request a credentials provider hands to provisioning: one for the
// `file` key made in memory and for hardware keys, whose signature is made in the TPM or token
// (the EVP_PKEY only refers to the key there).
#pragma once

#include <openssl/evp.h>

#include <string>

namespace iotgw::plugins::common {

// A PEM CSR for `key` with subject CN=`common_name` (no subject when empty: AWS ignores it),
// signed with SHA-256. `signer` names where the signature is made, for the error ("the TPM").
// Throws sdk::Error with OpenSSL's reason.
std::string make_csr_pem(EVP_PKEY* key, const std::string& common_name, const std::string& signer);

}  // namespace iotgw::plugins::common
