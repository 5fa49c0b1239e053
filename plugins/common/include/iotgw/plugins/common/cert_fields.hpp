// What the credentials plugins say about a certificate in their checks and log lines: its dates,
// subject CN and serial, and times as ISO 8601 UTC. One implementation for `file`, the
// hardware-key providers and fleet_provisioning, so the same certificate reads the same in every
// log.
#pragma once

#include <openssl/asn1.h>
#include <openssl/x509.h>

#include <cstdint>
#include <string>

namespace iotgw::plugins::common {

// Seconds since the epoch; 0 when `t` is missing or does not parse.
int64_t to_unix(const ASN1_TIME* t);

// The subject's CN of any length; "(no CN)" when it has none.
std::string common_name(X509* x);

// The serial number in upper-case hex; "?" when OpenSSL cannot convert it.
std::string serial_hex(X509* x);

// "2027-11-28T09:00:00Z".
std::string iso8601_utc(int64_t unix_seconds);

}  // namespace iotgw::plugins::common
