// The local certificate authority (ECDSA P-256) standing in for AWS IoT's CA: it signs the
// broker's server certificate and every device / claim certificate.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "atomic_file.hpp"

typedef struct evp_pkey_st EVP_PKEY;
typedef struct x509_st X509;

namespace localcore {

// "10m", "12h", "30d", "1y", "20y" (a year is 365 days). Throws Error for anything else.
std::chrono::seconds parse_lifetime(std::string_view text);

// What the claim-certificate commands compare: the SHA-256 of a key's DER SubjectPublicKeyInfo
// (lowercase hex), so the same key gives the same value in a CSR, a certificate or a private key.
struct CsrInfo {
    std::string subject_cn;  // empty when the CSR has none
    std::string public_key_sha256;
};
// Throws Error when the text is not a PEM CSR whose signature verifies.
CsrInfo inspect_csr_pem(std::string_view csr_pem);
std::string certificate_public_key_sha256(std::string_view cert_pem);
std::string private_key_public_key_sha256(std::string_view key_pem);

struct IssuedCertificate {
    std::string cert_pem;
    std::string key_pem;  // PKCS#8
};

class Ca {
public:
    // Creates CA_DIR (0700) with ca.key (0600) + ca.pem (CN "localcore CA", 20 years) and
    // server.key (0600) + server.pem (CN localhost, SAN DNS:localhost + IP:127.0.0.1, 2 years).
    // Refuses to overwrite an existing CA.
    static void init(const std::filesystem::path& ca_dir);
    static Ca open(const std::filesystem::path& ca_dir);

    Ca(Ca&&) noexcept;
    Ca& operator=(Ca&&) noexcept;
    ~Ca();

    const std::filesystem::path& dir() const { return dir_; }
    std::filesystem::path ca_cert_path() const { return dir_ / "ca.pem"; }
    std::filesystem::path server_cert_path() const { return dir_ / "server.pem"; }
    std::filesystem::path server_key_path() const { return dir_ / "server.key"; }
    std::string ca_cert_pem() const;

    // Signs a CSR (fleet provisioning's CreateCertificateFromCsr): the CSR's signature must verify
    // and its key must be EC P-256 or RSA >= 2048. An empty `subject_cn` keeps the CSR's subject.
    std::string sign_csr(std::string_view csr_pem, std::chrono::seconds lifetime,
                         std::string_view subject_cn) const;

    // Issues a client certificate for an existing private key (PEM), e.g. one already in a device's
    // key store: the key is reused, never replaced.
    std::string issue_for_key(std::string_view key_pem, std::string_view subject_cn,
                              std::chrono::seconds lifetime) const;

    // Generates a P-256 key here and issues a client certificate for it.
    IssuedCertificate issue(std::string_view subject_cn, std::chrono::seconds lifetime) const;

private:
    Ca(std::filesystem::path dir, EVP_PKEY* key, X509* cert);
    std::filesystem::path dir_;
    EVP_PKEY* key_ = nullptr;
    X509* cert_ = nullptr;
};

}  // namespace localcore
