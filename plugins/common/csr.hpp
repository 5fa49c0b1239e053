// The certificate signing request a credentials provider hands to provisioning: one for the
// `file` key made in memory and for hardware keys, whose signature is made in the TPM or token
// (the EVP_PKEY only refers to the key there). Header only: plugins/common is not a plugin.
#pragma once

#include "openssl_ptr.hpp"
#include "renewal_slots.hpp"

#include <iotgw/sdk/errors.hpp>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <string>

namespace iotgw::plugins::csr {

// A PEM CSR for `key` with subject CN=`common_name` (no subject when empty: AWS ignores it),
// signed with SHA-256. `signer` names where the signature is made, for the error ("the TPM").
inline std::string make_csr_pem(EVP_PKEY* key, const std::string& common_name, const std::string& signer) {
    using slots::detail::openssl_reason;
    ERR_clear_error();
    ossl::ReqPtr req(X509_REQ_new());
    if (!req || X509_REQ_set_version(req.get(), 0) != 1)
        throw sdk::Error("cannot create a CSR: " + openssl_reason());
    if (!common_name.empty() &&
        X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req.get()), "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                                   0) != 1)
        throw sdk::Error("cannot put CN '" + common_name + "' into the CSR: " + openssl_reason());
    if (X509_REQ_set_pubkey(req.get(), key) != 1 || X509_REQ_sign(req.get(), key, EVP_sha256()) <= 0)
        throw sdk::Error("cannot sign the CSR" + (signer.empty() ? std::string() : " in " + signer) + ": " +
                         openssl_reason());
    ossl::BioPtr out = ossl::memory_writer();
    if (PEM_write_bio_X509_REQ(out.get(), req.get()) != 1)
        throw sdk::Error("cannot encode the CSR: " + openssl_reason());
    return ossl::memory_text(out.get());
}

}  // namespace iotgw::plugins::csr
