// What the broker reads from a connection's TLS client certificate.
#pragma once

#include <map>
#include <optional>
#include <string>

struct mosquitto;

namespace localcore::broker {

struct PeerCertificate {
    std::string fingerprint;                     // SHA-256 of the DER, lowercase hex = the cert id
    std::map<std::string, std::string> subject;  // AWS field names: CommonName, Organization, ...
};

// nullopt when the connection presented no certificate.
std::optional<PeerCertificate> peer_certificate(const mosquitto* client);

}  // namespace localcore::broker
