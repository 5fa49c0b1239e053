#include "renewal_store.hpp"

#include <iotgw/plugins/common/csr.hpp>
#include <iotgw/plugins/common/durable_file.hpp>
#include <iotgw/plugins/common/fault_point.hpp>
#include <iotgw/plugins/common/openssl_error.hpp>
#include <iotgw/plugins/common/openssl_ptr.hpp>
#include <iotgw/plugins/common/renewal_slots.hpp>

#include <iotgw/sdk.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <string>

namespace iotgw::plugins::file {
namespace {

using common::BioPtr;
using common::fault_point;
using common::memory_text;
using common::openssl_reason;
using common::PkeyPtr;
using common::read_first_cert;
using common::remove_file;
using common::write_file_atomic;
using sdk::Error;

}  // namespace

std::string create_pending_key(const SlotPaths& p, const std::string& common_name) {
    ERR_clear_error();
    PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!key) throw Error("cannot generate a P-256 key: " + openssl_reason());
    std::string csr_pem = common::make_csr_pem(key.get(), common_name, "");

    BioPtr key_pem = common::memory_writer();
    if (PEM_write_bio_PrivateKey(key_pem.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
        throw Error("cannot encode the new key: " + openssl_reason());

    // An older pending certificate belongs to the older pending key: it goes first.
    remove_file(p.cert_pending);
    write_file_atomic(p.key_pending, memory_text(key_pem.get()), 0600);
    fault_point("file.key_created");
    return csr_pem;
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
    auto bio = common::memory_reader(key_block);
    PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!key) throw Error("the imported private key does not parse: " + openssl_reason());
    auto cert = read_first_cert(chain, "the imported certificate");
    ERR_clear_error();
    if (X509_check_private_key(cert.get(), key.get()) != 1) {
        ERR_clear_error();
        throw Error("the imported certificate does not belong to the imported private key");
    }
    BioPtr key_pem = common::memory_writer();
    if (PEM_write_bio_PrivateKey(key_pem.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
        throw Error("cannot encode the imported key: " + openssl_reason());
    remove_file(p.cert_pending);
    write_file_atomic(p.key_pending, memory_text(key_pem.get()), 0600);
    write_file_atomic(p.cert_pending, chain, 0644);
}

}  // namespace iotgw::plugins::file
