#include <iotgw/plugins/common/cert_fields.hpp>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>

#include <ctime>

namespace iotgw::plugins::common {

int64_t to_unix(const ASN1_TIME* t) {
    std::tm tm{};
    if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
    return static_cast<int64_t>(timegm(&tm));
}

std::string common_name(X509* x) {
    X509_NAME* subject = X509_get_subject_name(x);
    const int len = X509_NAME_get_text_by_NID(subject, NID_commonName, nullptr, 0);
    if (len < 0) return "(no CN)";
    std::string cn(static_cast<size_t>(len) + 1, '\0');
    X509_NAME_get_text_by_NID(subject, NID_commonName, cn.data(), len + 1);
    cn.resize(static_cast<size_t>(len));
    return cn;
}

std::string serial_hex(X509* x) {
    BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr);
    if (bn == nullptr) return "?";
    char* hex = BN_bn2hex(bn);
    std::string out = hex != nullptr ? hex : "?";
    OPENSSL_free(hex);
    BN_free(bn);
    return out;
}

std::string iso8601_utc(int64_t unix_seconds) {
    const std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

}  // namespace iotgw::plugins::common
