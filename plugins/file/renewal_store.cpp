#include "renewal_store.hpp"
#include "../common/durable_file.hpp"
#include "../common/fault_point.hpp"
#include "../common/renewal_slots.hpp"
#include "openssl_ptr.hpp"

#include <iotgw/sdk.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <string>

namespace iotgw::plugins::file {
namespace {

using durable::remove_file;
using durable::write_file_atomic;
using sdk::Error;
using slots::detail::openssl_reason;
using slots::detail::read_first_cert;

BioPtr memory_bio(const std::string& s) {
    BioPtr b(BIO_new_mem_buf(s.data(), static_cast<int>(s.size())));
    if (!b) throw Error("out of memory");
    return b;
}

std::string bio_text(BIO* b) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(b, &data);
    return std::string(data, static_cast<size_t>(n));
}

}  // namespace

std::string create_pending_key(const SlotPaths& p, const std::string& common_name) {
    ERR_clear_error();
    PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!key) throw Error("cannot generate a P-256 key: " + openssl_reason());

    ReqPtr req(X509_REQ_new());
    if (!req || X509_REQ_set_version(req.get(), 0) != 1)
        throw Error("cannot create a CSR: " + openssl_reason());
    if (!common_name.empty()) {
        X509_NAME* name = X509_REQ_get_subject_name(req.get());
        if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                                       0) != 1)
            throw Error("cannot put CN '" + common_name + "' into the CSR: " + openssl_reason());
    }
    if (X509_REQ_set_pubkey(req.get(), key.get()) != 1 ||
        X509_REQ_sign(req.get(), key.get(), EVP_sha256()) <= 0)
        throw Error("cannot sign the CSR: " + openssl_reason());

    BioPtr key_pem(BIO_new(BIO_s_mem()));
    BioPtr csr_pem(BIO_new(BIO_s_mem()));
    if (!key_pem || !csr_pem) throw Error("out of memory");
    if (PEM_write_bio_PrivateKey(key_pem.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
        PEM_write_bio_X509_REQ(csr_pem.get(), req.get()) != 1)
        throw Error("cannot encode the new key or CSR: " + openssl_reason());

    // An older pending certificate belongs to the older pending key: it goes first.
    remove_file(p.cert_pending);
    write_file_atomic(p.key_pending, bio_text(key_pem.get()), 0600);
    fault_point("file.key_created");
    return bio_text(csr_pem.get());
}

void import_pending_pair(const SlotPaths& p, const std::string& chain_and_key_pem) {
    // Split the key block from the certificates: only the certificates go to the cert file.
    std::string chain;
    std::string key_block;
    size_t pos = 0;
    while (pos < chain_and_key_pem.size()) {
        const size_t begin = chain_and_key_pem.find("-----BEGIN ", pos);
        if (begin == std::string::npos) break;
        const size_t label_end = chain_and_key_pem.find("-----", begin + 11);
        if (label_end == std::string::npos) break;
        const std::string label = chain_and_key_pem.substr(begin + 11, label_end - begin - 11);
        const std::string end_marker = "-----END " + label + "-----";
        const size_t end = chain_and_key_pem.find(end_marker, label_end);
        if (end == std::string::npos) throw Error("the imported PEM block '" + label + "' has no END line");
        const std::string block = chain_and_key_pem.substr(begin, end + end_marker.size() - begin) + "\n";
        if (label.ends_with("PRIVATE KEY")) {
            if (!key_block.empty()) throw Error("the imported pair holds more than one private key");
            key_block = block;
        } else if (label == "CERTIFICATE") {
            chain += block;
        }
        pos = end + end_marker.size();
    }
    if (key_block.empty()) throw Error("the imported pair holds no PEM private key");
    if (chain.empty()) throw Error("the imported pair holds no PEM certificate");
    auto bio = memory_bio(key_block);
    PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!key) throw Error("the imported private key does not parse: " + openssl_reason());
    auto cert = read_first_cert(chain, "the imported certificate");
    ERR_clear_error();
    if (X509_check_private_key(cert.get(), key.get()) != 1) {
        ERR_clear_error();
        throw Error("the imported certificate does not belong to the imported private key");
    }
    BioPtr key_pem(BIO_new(BIO_s_mem()));
    if (!key_pem ||
        PEM_write_bio_PrivateKey(key_pem.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
        throw Error("cannot encode the imported key: " + openssl_reason());
    remove_file(p.cert_pending);
    write_file_atomic(p.key_pending, bio_text(key_pem.get()), 0600);
    write_file_atomic(p.cert_pending, chain, 0644);
}

}  // namespace iotgw::plugins::file
