// What a connection and the provisioning plugin need to know about a client certificate: its
// AWS IoT certificate id (SHA-256 of the leaf's DER, lower-case hex, what `principal()` gives
// and what the registry names it by) and its validity period.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace iotgw::plugins::common {

struct CertificateInfo {
    std::string id;  // 64 lower-case hex digits
    int64_t not_before = 0;
    int64_t not_after = 0;
};

// The first certificate of the PEM file `path`; nullopt when it cannot be read.
std::optional<CertificateInfo> read_certificate_info(const std::string& path);

}  // namespace iotgw::plugins::common
