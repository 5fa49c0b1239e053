// Which CAs a TLS connection to the broker trusts: the credentials' own `ca` when they name one,
// else the system's bundle (Debian's ca-certificates), which holds the Amazon roots AWS IoT Core's
// ATS endpoints chain to.
#pragma once

#include <string>

namespace iotgw::plugins::common {

inline constexpr const char* kSystemTrustStore = "/etc/ssl/certs/ca-certificates.crt";

// `ca_path`, or kSystemTrustStore when it is empty.
std::string trust_store_or_system(const std::string& ca_path);

}  // namespace iotgw::plugins::common
