// Status names, name rules and certificate inspection used by the registry.
#include <array>
#include <memory>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "registry.hpp"
#include "sha256_hex.hpp"

namespace localcore {

std::string_view to_string(CertStatus status) {
    switch (status) {
        case CertStatus::Active:
            return "ACTIVE";
        case CertStatus::Inactive:
            return "INACTIVE";
        case CertStatus::Revoked:
            return "REVOKED";
        case CertStatus::PendingActivation:
            return "PENDING_ACTIVATION";
    }
    return "UNKNOWN";
}

CertStatus parse_cert_status(std::string_view text) {
    for (auto s :
         {CertStatus::Active, CertStatus::Inactive, CertStatus::Revoked, CertStatus::PendingActivation})
        if (to_string(s) == text) return s;
    throw Error("unknown certificate status '" + std::string(text) +
                "'; use ACTIVE, INACTIVE, REVOKED or PENDING_ACTIVATION");
}

namespace {
bool name_chars_ok(std::string_view name, std::string_view extra) {
    if (name.empty() || name.size() > 128) return false;
    for (char c : name) {
        const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && extra.find(c) == std::string_view::npos) return false;
    }
    return true;
}
}  // namespace

void validate_thing_name(std::string_view name) {
    if (!name_chars_ok(name, ":_-"))
        throw Error("invalid thing name '" + std::string(name) +
                    "'; use 1 to 128 characters from a-z A-Z 0-9 : _ -");
}

void validate_policy_name(std::string_view name) {
    if (!name_chars_ok(name, "+=,.@_-"))
        throw Error("invalid policy name '" + std::string(name) +
                    "'; use 1 to 128 characters from a-z A-Z 0-9 + = , . @ _ -");
}

CertificateInfo inspect_certificate_pem(std::string_view pem) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                                                  &BIO_free);
    std::unique_ptr<X509, decltype(&X509_free)> cert(
        bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr, &X509_free);
    if (!cert) {
        ERR_clear_error();  // don't leave PEM noise for the next OpenSSL caller (the broker's TLS)
        throw Error(
            "the certificate is not a valid PEM X.509 certificate; "
            "pass a file starting with -----BEGIN CERTIFICATE-----");
    }
    CertificateInfo info;

    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int md_len = 0;
    X509_digest(cert.get(), EVP_sha256(), md.data(), &md_len);
    info.fingerprint = lower_hex(md.data(), md_len);

    if (X509_NAME* subject = X509_get_subject_name(cert.get())) {
        const int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
        if (idx >= 0) {
            ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
            unsigned char* utf8 = nullptr;
            const int len = ASN1_STRING_to_UTF8(&utf8, data);
            if (len >= 0)
                info.subject_cn.assign(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(len));
            OPENSSL_free(utf8);
        }
    }

    struct tm tm {};
    if (ASN1_TIME_to_tm(X509_get0_notAfter(cert.get()), &tm) == 1) info.not_after = timegm(&tm);
    return info;
}

}  // namespace localcore
