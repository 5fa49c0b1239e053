#include "client_certificate.hpp"

#include <array>
#include <memory>
#include <string_view>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "mosquitto_api.hpp"
#include "sha256_hex.hpp"

namespace localcore::broker {
namespace {

struct SubjectField {
    std::string_view aws_name;  // as in ${iot:Certificate.Subject.<aws_name>}
    int nid;
};
constexpr std::array<SubjectField, 9> kFields = {{
    {"CommonName", NID_commonName},
    {"Organization", NID_organizationName},
    {"OrganizationalUnit", NID_organizationalUnitName},
    {"Country", NID_countryName},
    {"State", NID_stateOrProvinceName},
    {"Locality", NID_localityName},
    {"SerialNumber", NID_serialNumber},
    {"Title", NID_title},
    {"Surname", NID_surname},
}};

}  // namespace

std::optional<PeerCertificate> peer_certificate(const mosquitto* client) {
    // mosquitto hands out a new reference that the caller must free.
    std::unique_ptr<X509, decltype(&X509_free)> cert(static_cast<X509*>(mosquitto_client_certificate(client)),
                                                     &X509_free);
    if (!cert) return std::nullopt;

    PeerCertificate out;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    if (X509_digest(cert.get(), EVP_sha256(), md, &md_len) != 1) return std::nullopt;
    out.fingerprint = lower_hex(md, md_len);

    const X509_NAME* name = X509_get_subject_name(cert.get());
    for (const SubjectField& field : kFields) {
        const int index = X509_NAME_get_index_by_NID(name, field.nid, -1);
        if (index < 0) continue;
        const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
        unsigned char* utf8 = nullptr;
        const int len = ASN1_STRING_to_UTF8(&utf8, data);
        if (len >= 0) out.subject.emplace(field.aws_name, std::string(reinterpret_cast<char*>(utf8), len));
        OPENSSL_free(utf8);
    }
    return out;
}

}  // namespace localcore::broker
