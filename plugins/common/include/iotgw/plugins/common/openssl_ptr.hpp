// Owning pointers for the OpenSSL objects the credentials plugins handle (file, tpm, pkcs11 and
// the renewal slots they share), and memory BIOs to read and write PEM text.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

namespace iotgw::plugins::common {

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

// A BIO reading `text` in place (`text` must outlive it). Throws sdk::Error when out of memory.
BioPtr memory_reader(const std::string& text);

// An empty memory BIO to write into. Throws sdk::Error when out of memory.
BioPtr memory_writer();

// What has been written into a memory BIO.
std::string memory_text(BIO* b);

}  // namespace iotgw::plugins::common
