// What a connection and the provisioning plugin need to know about a client certificate: its
// AWS IoT certificate id (SHA-256 of the leaf's DER, lower-case hex, what `principal()` gives
// and what the registry names it by) and its validity period.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <string>

namespace iotgw::plugins::mqtt_conn {

struct CertificateInfo {
    std::string id;  // 64 lower-case hex digits
    int64_t not_before = 0;
    int64_t not_after = 0;
};

// The first certificate of the PEM file `path`; nullopt when it cannot be read.
inline std::optional<CertificateInfo> read_certificate_info(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) return std::nullopt;
    X509* raw = PEM_read_X509(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    if (raw == nullptr) return std::nullopt;
    std::unique_ptr<X509, void (*)(X509*)> x(raw, X509_free);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (X509_digest(x.get(), EVP_sha256(), md, &len) != 1) return std::nullopt;
    CertificateInfo info;
    static const char* const kHex = "0123456789abcdef";
    for (unsigned int i = 0; i < len; ++i) {
        info.id += kHex[md[i] >> 4];
        info.id += kHex[md[i] & 0xf];
    }
    auto to_unix = [](const ASN1_TIME* t) {
        std::tm tm{};
        ASN1_TIME_to_tm(t, &tm);
        return static_cast<int64_t>(timegm(&tm));
    };
    info.not_before = to_unix(X509_get0_notBefore(x.get()));
    info.not_after = to_unix(X509_get0_notAfter(x.get()));
    return info;
}

}  // namespace iotgw::plugins::mqtt_conn
