#include "ca.hpp"

#include "sha256_hex.hpp"

#include <cctype>
#include <ctime>
#include <utility>
#include <vector>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace localcore {
namespace {

template <typename T, void (*F)(T*)>
struct Deleter {
    void operator()(T* p) const { F(p); }
};
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using ReqPtr = std::unique_ptr<X509_REQ, Deleter<X509_REQ, X509_REQ_free>>;
using NamePtr = std::unique_ptr<X509_NAME, Deleter<X509_NAME, X509_NAME_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;

constexpr std::chrono::seconds kYear{365L * 24 * 3600};

std::string openssl_errors() {
    std::string out;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!out.empty()) out += ", ";
        out += buf;
    }
    return out.empty() ? "no OpenSSL detail" : out;
}

[[noreturn]] void fail(const std::string& what) {
    throw Error(what + " (" + openssl_errors() + "); check the OpenSSL installation");
}

KeyPtr generate_p256() {
    KeyPtr key(EVP_EC_gen("P-256"));
    if (!key) fail("cannot generate a P-256 key");
    return key;
}

BioPtr mem_bio(std::string_view text) {
    return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string bio_text(BIO* bio) {
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(len));
}

std::string cert_pem(X509* cert) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) fail("cannot encode a certificate");
    return bio_text(bio.get());
}

std::string key_pem(EVP_PKEY* key) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
        fail("cannot encode a private key");
    return bio_text(bio.get());
}

NamePtr name_with_cn(std::string_view cn) {
    NamePtr name(X509_NAME_new());
    if (!name || X509_NAME_add_entry_by_NID(name.get(), NID_commonName, MBSTRING_UTF8,
                                            reinterpret_cast<const unsigned char*>(cn.data()),
                                            static_cast<int>(cn.size()), -1, 0) != 1)
        fail("cannot build the subject CN=" + std::string(cn));
    return name;
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value);
    if (!ext) fail(std::string("cannot build extension ") + OBJ_nid2sn(nid) + "=" + value);
    const int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    if (ok != 1) fail(std::string("cannot add extension ") + OBJ_nid2sn(nid));
}

// A fresh certificate valid from one minute ago (clock skew between the CA and its peers) until
// now + lifetime, with a random positive 128-bit serial.
CertPtr new_cert(EVP_PKEY* pubkey, const X509_NAME* subject, std::chrono::seconds lifetime) {
    if (lifetime.count() <= 0) throw Error("a certificate lifetime must be positive; use e.g. 10m or 1y");
    CertPtr cert(X509_new());
    if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) fail("cannot create a certificate");
    unsigned char serial[16];
    if (RAND_bytes(serial, sizeof serial) != 1) fail("cannot draw a random serial");
    serial[0] = static_cast<unsigned char>((serial[0] & 0x7f) | 0x01);  // positive, full length
    BnPtr bn(BN_bin2bn(serial, sizeof serial, nullptr));
    if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())))
        fail("cannot set the serial number");
    const std::time_t now = std::time(nullptr);
    const long secs = static_cast<long>(lifetime.count());
    if (!ASN1_TIME_adj(X509_getm_notBefore(cert.get()), now, 0, -60) ||
        !ASN1_TIME_adj(X509_getm_notAfter(cert.get()), now, static_cast<int>(secs / 86400), secs % 86400))
        fail("cannot set the validity period");
    if (X509_set_subject_name(cert.get(), subject) != 1 || X509_set_pubkey(cert.get(), pubkey) != 1)
        fail("cannot set the subject or public key");
    return cert;
}

void sign(X509* cert, X509* issuer, EVP_PKEY* issuer_key) {
    if (X509_set_issuer_name(cert, X509_get_subject_name(issuer)) != 1 ||
        X509_sign(cert, issuer_key, EVP_sha256()) <= 0)
        fail("cannot sign a certificate");
}

void add_client_extensions(X509* cert, X509* issuer) {
    add_ext(cert, issuer, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(cert, issuer, NID_key_usage, "critical,digitalSignature");
    add_ext(cert, issuer, NID_ext_key_usage, "clientAuth");
    add_ext(cert, issuer, NID_subject_key_identifier, "hash");
    add_ext(cert, issuer, NID_authority_key_identifier, "keyid:always");
}

// Only keys AWS IoT accepts for device certificates, so nothing works here that fails there.
void check_key_strength(EVP_PKEY* key) {
    const int type = EVP_PKEY_get_base_id(key);
    if (type == EVP_PKEY_EC) {
        char group[64] = {};
        std::size_t len = 0;
        if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) != 1 ||
            (std::string_view(group) != "prime256v1" && std::string_view(group) != "P-256"))
            throw Error(std::string("the CSR's EC key uses curve ") + (group[0] ? group : "unknown") +
                        "; use a P-256 (prime256v1) key");
        return;
    }
    if (type == EVP_PKEY_RSA) {
        if (EVP_PKEY_get_bits(key) < 2048)
            throw Error("the CSR's RSA key has " + std::to_string(EVP_PKEY_get_bits(key)) +
                        " bits; use at least 2048 bits or a P-256 key");
        return;
    }
    throw Error("the CSR's key type is not supported; use a P-256 or an RSA >= 2048 key");
}

ReqPtr read_csr(std::string_view csr_pem) {
    auto bio = mem_bio(csr_pem);
    ReqPtr req(bio ? PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    ERR_clear_error();
    if (!req)
        throw Error(
            "the CSR is not a valid PEM certificate request; "
            "send one starting with -----BEGIN CERTIFICATE REQUEST-----");
    EVP_PKEY* pub = X509_REQ_get0_pubkey(req.get());
    if (!pub) throw Error("the CSR has no readable public key; generate the CSR again");
    check_key_strength(pub);
    if (X509_REQ_verify(req.get(), pub) != 1) {
        ERR_clear_error();
        throw Error("the CSR's signature does not verify; sign the CSR with the key it contains");
    }
    return req;
}

KeyPtr read_private_key(std::string_view pem) {
    auto bio = mem_bio(pem);
    KeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    ERR_clear_error();
    if (!key) throw Error("not a PEM private key (or an encrypted one); pass an unencrypted PEM key");
    return key;
}

std::string public_key_sha256(EVP_PKEY* key) {
    unsigned char* der = nullptr;
    const int len = key ? i2d_PUBKEY(key, &der) : -1;
    if (len <= 0) fail("cannot encode a public key");
    std::string out =
        sha256_hex(std::string_view(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len)));
    OPENSSL_free(der);
    return out;
}

}  // namespace

std::chrono::seconds parse_lifetime(std::string_view text) {
    const auto bad = [&] {
        return Error("invalid lifetime '" + std::string(text) +
                     "'; use a number followed by s, m, h, d or y (e.g. 30s, 10m, 12h, 30d, 1y, 20y)");
    };
    if (text.size() < 2) throw bad();
    long long n = 0;
    for (char c : text.substr(0, text.size() - 1)) {
        if (!std::isdigit(static_cast<unsigned char>(c)) || n > 100000000) throw bad();
        n = n * 10 + (c - '0');
    }
    std::chrono::seconds unit{};
    switch (text.back()) {
        case 's':  // for tests of expiry and rotation
            unit = std::chrono::seconds(1);
            break;
        case 'm':
            unit = std::chrono::minutes(1);
            break;
        case 'h':
            unit = std::chrono::hours(1);
            break;
        case 'd':
            unit = std::chrono::hours(24);
            break;
        case 'y':
            unit = kYear;
            break;
        default:
            throw bad();
    }
    const auto total = unit * n;
    if (n == 0 || total > 100 * kYear)
        throw Error("lifetime '" + std::string(text) + "' is out of range; use from 1s to 100y");
    return total;
}

Ca::Ca(std::filesystem::path dir, EVP_PKEY* key, X509* cert) : dir_(std::move(dir)), key_(key), cert_(cert) {}

Ca::Ca(Ca&& other) noexcept
    : dir_(std::move(other.dir_)),
      key_(std::exchange(other.key_, nullptr)),
      cert_(std::exchange(other.cert_, nullptr)) {}

Ca& Ca::operator=(Ca&& other) noexcept {
    if (this != &other) {
        EVP_PKEY_free(key_);
        X509_free(cert_);
        dir_ = std::move(other.dir_);
        key_ = std::exchange(other.key_, nullptr);
        cert_ = std::exchange(other.cert_, nullptr);
    }
    return *this;
}

Ca::~Ca() {
    EVP_PKEY_free(key_);
    X509_free(cert_);
}

void Ca::init(const std::filesystem::path& ca_dir) {
    std::error_code ec;
    if (std::filesystem::exists(ca_dir / "ca.key", ec))
        throw Error(
            "a CA already exists in " + ca_dir.string() +
            "; use it, or remove the directory to start over (all issued certificates become invalid)");
    std::filesystem::create_directories(ca_dir, ec);
    if (ec) throw Error("cannot create " + ca_dir.string() + ": " + ec.message() + "; check permissions");
    std::filesystem::permissions(ca_dir, std::filesystem::perms::owner_all, ec);

    auto ca_key = generate_p256();
    auto ca_name = name_with_cn("localcore CA");
    auto ca = new_cert(ca_key.get(), ca_name.get(), 20 * kYear);
    add_ext(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE");
    add_ext(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
    add_ext(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
    sign(ca.get(), ca.get(), ca_key.get());

    auto server_key = generate_p256();
    auto server_name = name_with_cn("localhost");
    auto server = new_cert(server_key.get(), server_name.get(), 2 * kYear);
    add_ext(server.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
    add_ext(server.get(), ca.get(), NID_key_usage, "critical,digitalSignature");
    add_ext(server.get(), ca.get(), NID_ext_key_usage, "serverAuth");
    add_ext(server.get(), ca.get(), NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
    add_ext(server.get(), ca.get(), NID_subject_key_identifier, "hash");
    add_ext(server.get(), ca.get(), NID_authority_key_identifier, "keyid:always");
    sign(server.get(), ca.get(), ca_key.get());

    // Keys first: a ca.pem without its key would look like a usable CA.
    write_new_file_atomic(ca_dir / "ca.key", key_pem(ca_key.get()), 0600);
    write_new_file_atomic(ca_dir / "ca.pem", cert_pem(ca.get()), 0644);
    write_new_file_atomic(ca_dir / "server.key", key_pem(server_key.get()), 0600);
    write_new_file_atomic(ca_dir / "server.pem", cert_pem(server.get()), 0644);
}

Ca Ca::open(const std::filesystem::path& ca_dir) {
    const auto key_text = read_file_if_exists(ca_dir / "ca.key");
    const auto cert_text = read_file_if_exists(ca_dir / "ca.pem");
    if (!key_text || !cert_text)
        throw Error("no CA in " + ca_dir.string() + "; create one with `localcore --data DIR init`");
    auto kb = mem_bio(*key_text);
    KeyPtr key(kb ? PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!key)
        throw Error((ca_dir / "ca.key").string() +
                    " is not a readable PEM private key; restore it or re-run init");
    auto cb = mem_bio(*cert_text);
    CertPtr cert(cb ? PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!cert)
        throw Error((ca_dir / "ca.pem").string() +
                    " is not a readable PEM certificate; restore it or re-run init");
    if (X509_check_private_key(cert.get(), key.get()) != 1)
        throw Error((ca_dir / "ca.key").string() + " does not belong to " + (ca_dir / "ca.pem").string() +
                    "; restore the matching pair");
    return Ca(ca_dir, key.release(), cert.release());
}

std::string Ca::ca_cert_pem() const { return cert_pem(cert_); }

std::string Ca::sign_csr(std::string_view csr_pem, std::chrono::seconds lifetime,
                         std::string_view subject_cn) const {
    auto req = read_csr(csr_pem);
    NamePtr name = subject_cn.empty() ? NamePtr(X509_NAME_dup(X509_REQ_get_subject_name(req.get())))
                                      : name_with_cn(subject_cn);
    if (!name) fail("cannot copy the CSR's subject");
    auto cert = new_cert(X509_REQ_get0_pubkey(req.get()), name.get(), lifetime);
    add_client_extensions(cert.get(), cert_);
    sign(cert.get(), cert_, key_);
    return cert_pem(cert.get());
}

std::string Ca::issue_for_key(std::string_view key_pem_text, std::string_view subject_cn,
                              std::chrono::seconds lifetime) const {
    auto key = read_private_key(key_pem_text);
    check_key_strength(key.get());
    auto name = name_with_cn(subject_cn);
    auto cert = new_cert(key.get(), name.get(), lifetime);
    add_client_extensions(cert.get(), cert_);
    sign(cert.get(), cert_, key_);
    return cert_pem(cert.get());
}

CsrInfo inspect_csr_pem(std::string_view csr_pem) {
    auto req = read_csr(csr_pem);
    CsrInfo info;
    const X509_NAME* subject = X509_REQ_get_subject_name(req.get());
    const int idx = subject ? X509_NAME_get_index_by_NID(subject, NID_commonName, -1) : -1;
    if (idx >= 0) {
        const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
        unsigned char* utf8 = nullptr;
        const int len = ASN1_STRING_to_UTF8(&utf8, data);
        if (len >= 0) info.subject_cn.assign(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(len));
        OPENSSL_free(utf8);
    }
    info.public_key_sha256 = public_key_sha256(X509_REQ_get0_pubkey(req.get()));
    return info;
}

std::string certificate_public_key_sha256(std::string_view pem) {
    auto bio = mem_bio(pem);
    CertPtr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    ERR_clear_error();
    if (!cert) throw Error("not a PEM certificate; pass a file starting with -----BEGIN CERTIFICATE-----");
    return public_key_sha256(X509_get0_pubkey(cert.get()));
}

std::string private_key_public_key_sha256(std::string_view key_pem_text) {
    return public_key_sha256(read_private_key(key_pem_text).get());
}

IssuedCertificate Ca::issue(std::string_view subject_cn, std::chrono::seconds lifetime) const {
    auto key = generate_p256();
    auto name = name_with_cn(subject_cn);
    auto cert = new_cert(key.get(), name.get(), lifetime);
    add_client_extensions(cert.get(), cert_);
    sign(cert.get(), cert_, key_);
    return {cert_pem(cert.get()), key_pem(key.get())};
}

}  // namespace localcore
