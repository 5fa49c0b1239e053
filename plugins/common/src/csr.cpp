#include <iotgw/plugins/common/csr.hpp>
#include <iotgw/plugins/common/openssl_error.hpp>
#include <iotgw/plugins/common/openssl_ptr.hpp>

#include <iotgw/sdk/errors.hpp>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace iotgw::plugins::common {

std::string make_csr_pem(EVP_PKEY* key, const std::string& common_name, const std::string& signer) {
    ERR_clear_error();
    ReqPtr req(X509_REQ_new());
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
    BioPtr out = memory_writer();
    if (PEM_write_bio_X509_REQ(out.get(), req.get()) != 1)
        throw sdk::Error("cannot encode the CSR: " + openssl_reason());
    return memory_text(out.get());
}

}  // namespace iotgw::plugins::common
