// Owning pointers for the OpenSSL objects the credentials plugins handle (file, tpm, pkcs11 and
// the renewal slots they share). Header only: plugins/common is not a plugin.
#pragma once

#include <iotgw/sdk/errors.hpp>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

namespace iotgw::plugins::ossl {

struct BioFree {
    void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct X509Free {
    void operator()(X509* x) const noexcept { X509_free(x); }
};
struct PkeyFree {
    void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct ReqFree {
    void operator()(X509_REQ* r) const noexcept { X509_REQ_free(r); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using ReqPtr = std::unique_ptr<X509_REQ, ReqFree>;

// A BIO reading `text` in place (`text` must outlive it).
inline BioPtr memory_reader(const std::string& text) {
    BioPtr b(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    if (!b) throw sdk::Error("out of memory");
    return b;
}

// An empty memory BIO to write into.
inline BioPtr memory_writer() {
    BioPtr b(BIO_new(BIO_s_mem()));
    if (!b) throw sdk::Error("out of memory");
    return b;
}

// What has been written into a memory BIO.
inline std::string memory_text(BIO* b) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(b, &data);
    return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

}  // namespace iotgw::plugins::ossl
