#include "factory_files.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace iotgw::cli::factory {
namespace {

using core::files::errno_text;

template <class T, void (*Free)(T*)>
struct Deleter {
    void operator()(T* p) const noexcept { Free(p); }
};
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using ReqPtr = std::unique_ptr<X509_REQ, Deleter<X509_REQ, X509_REQ_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;

std::string openssl_reason() {
    const unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (e == 0) return "no detail from OpenSSL";
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    return buf;
}

BioPtr reader(const std::string& text) {
    return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string bio_text(BIO* bio) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

std::string common_name(const X509_NAME* name) {
    const int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (i < 0) return "";
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    unsigned char* utf8 = nullptr;
    const int n = ASN1_STRING_to_UTF8(&utf8, data);
    if (n < 0) return "";
    std::string cn(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
    OPENSSL_free(utf8);
    return cn;
}

int64_t to_unix(const ASN1_TIME* t) {
    std::tm tm{};
    if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
    return static_cast<int64_t>(timegm(&tm));
}

// A daemon-style refusal to prompt: an encrypted key fails instead.
int no_passphrase(char*, int, int, void*) { return -1; }

}  // namespace

CsrInfo parse_csr(const std::string& text, const std::string& what) {
    ERR_clear_error();
    BioPtr in = reader(text);
    ReqPtr req(PEM_read_bio_X509_REQ(in.get(), nullptr, nullptr, nullptr));
    if (!req) throw std::runtime_error(what + " holds no PEM certificate request: " + openssl_reason());
    EVP_PKEY* pub = X509_REQ_get0_pubkey(req.get());
    if (pub == nullptr || X509_REQ_verify(req.get(), pub) != 1)
        throw std::runtime_error(what + ": the request's signature does not verify: " + openssl_reason());
    BioPtr out(BIO_new(BIO_s_mem()));
    if (PEM_write_bio_X509_REQ(out.get(), req.get()) != 1)
        throw std::runtime_error(what + ": cannot encode the request: " + openssl_reason());
    return CsrInfo{bio_text(out.get()), common_name(X509_REQ_get_subject_name(req.get()))};
}

CertInfo parse_chain(const std::string& text, const std::string& what) {
    ERR_clear_error();
    BioPtr in = reader(text);
    CertInfo info;
    BioPtr chain(BIO_new(BIO_s_mem()));
    bool first = true;
    for (;;) {
        X509Ptr cert(PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr));
        if (!cert) break;
        if (first) {
            first = false;
            info.common_name = common_name(X509_get_subject_name(cert.get()));
            info.not_before = to_unix(X509_get0_notBefore(cert.get()));
            info.not_after = to_unix(X509_get0_notAfter(cert.get()));
            BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr);
            if (serial != nullptr) {
                char* hex = BN_bn2hex(serial);
                info.serial_hex = hex != nullptr ? hex : "";
                OPENSSL_free(hex);
                BN_free(serial);
            }
            unsigned char* der = nullptr;
            const int n = i2d_X509(cert.get(), &der);
            if (n > 0) info.der.assign(reinterpret_cast<char*>(der), static_cast<size_t>(n));
            OPENSSL_free(der);
        }
        PEM_write_bio_X509(chain.get(), cert.get());
    }
    ERR_clear_error();  // the end of the input reads as "no start line"
    if (first) throw std::runtime_error(what + " holds no PEM certificate");
    info.chain_pem = bio_text(chain.get());
    return info;
}

KeyMatch csr_matches_key(const std::string& csr_pem, const std::string& key_path) {
    ERR_clear_error();
    std::string key_text;
    try {
        key_text = read_file(key_path);
    } catch (const std::exception&) {
        return KeyMatch::unknown;
    }
    BioPtr key_in = reader(key_text);
    PkeyPtr key(PEM_read_bio_PrivateKey(key_in.get(), nullptr, &no_passphrase, nullptr));
    BioPtr csr_in = reader(csr_pem);
    ReqPtr req(PEM_read_bio_X509_REQ(csr_in.get(), nullptr, nullptr, nullptr));
    ERR_clear_error();
    if (!key || !req) return KeyMatch::unknown;
    const EVP_PKEY* pub = X509_REQ_get0_pubkey(req.get());
    const int eq = pub != nullptr ? EVP_PKEY_eq(pub, key.get()) : 0;
    ERR_clear_error();
    return eq == 1 ? KeyMatch::same : KeyMatch::different;
}

std::string iso8601_utc(int64_t unix_seconds) {
    const auto t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

ActAsOwnerOf::ActAsOwnerOf(const std::string& directory) {
    if (::geteuid() != 0) return;
    struct stat st {};
    if (::stat(directory.c_str(), &st) != 0 || st.st_uid == 0) return;
    // Group first: once the uid is not root any more, the gid can no longer be changed.
    if (::setegid(st.st_gid) != 0)
        throw std::runtime_error("cannot act as group " + std::to_string(st.st_gid) + ": " + errno_text());
    if (::seteuid(st.st_uid) != 0) {
        const int saved = errno;
        (void)::setegid(::getgid());
        throw std::runtime_error("cannot act as user " + std::to_string(st.st_uid) + ": " +
                                 std::strerror(saved));
    }
    switched_ = true;
    switched_to_ = "uid " + std::to_string(st.st_uid) + ", gid " + std::to_string(st.st_gid);
}

ActAsOwnerOf::~ActAsOwnerOf() {
    if (!switched_) return;
    // Back to root (the real uid) first, then the group.
    (void)::seteuid(::getuid());
    (void)::setegid(::getgid());
}

}  // namespace iotgw::cli::factory
