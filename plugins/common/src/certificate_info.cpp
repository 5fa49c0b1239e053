#include <iotgw/plugins/common/cert_fields.hpp>
#include <iotgw/plugins/common/certificate_info.hpp>
#include <iotgw/plugins/common/openssl_ptr.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>

namespace iotgw::plugins::common {

std::optional<CertificateInfo> read_certificate_info(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) return std::nullopt;
    X509Ptr x(PEM_read_X509(f, nullptr, nullptr, nullptr));
    std::fclose(f);
    if (!x) return std::nullopt;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (X509_digest(x.get(), EVP_sha256(), md, &len) != 1) return std::nullopt;
    CertificateInfo info;
    static const char* const kHex = "0123456789abcdef";
    for (unsigned int i = 0; i < len; ++i) {
        info.id += kHex[md[i] >> 4];
        info.id += kHex[md[i] & 0xf];
    }
    info.not_before = to_unix(X509_get0_notBefore(x.get()));
    info.not_after = to_unix(X509_get0_notAfter(x.get()));
    return info;
}

}  // namespace iotgw::plugins::common
