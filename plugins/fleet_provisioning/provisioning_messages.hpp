// JSON of the fleet provisioning API (docs/aws-iot-core.md section 5) and of the rotation report
// (cloud/provisioning/README.md): requests built here, replies parsed here, every malformed
// reply turned into a sentence that says what was wrong.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace iotgw::plugins::fleet_provisioning {

std::string create_from_csr_request(const std::string& csr_pem);
std::string register_thing_request(const std::string& ownership_token,
                                   const std::vector<std::pair<std::string, std::string>>& parameters);
std::string rotated_report(const std::string& old_certificate_id, const std::string& client_token);

struct CreatedCertificate {
    std::string id, pem, ownership_token;
    std::string private_key;  // CreateKeysAndCertificate only
};
// Throws std::runtime_error with the reason when a field is missing or not a string.
CreatedCertificate parse_created_certificate(const std::string& json);
// The CreateKeysAndCertificate reply (also privateKey); throws like parse_created_certificate.
CreatedCertificate parse_created_keys(const std::string& json);
// The thing name RegisterThing reports ("" when the template has no thing).
std::string parse_registered_thing(const std::string& json);
// The fields of a /rejected reply; a reply that is not a JSON object keeps its first 200
// characters as the message.
struct Rejection {
    std::string status_code, error_code, error_message;
};
Rejection parse_rejection(const std::string& json);
// Whether a RegisterThing rejection is a refusal of this device's request rather than a fault:
// statusCode 403 or an access-denied error code (AccessDenied, ACCESS_DENIED,
// AccessDeniedException). localcore's built-in pre-provisioning hook answers 403 AccessDenied
// with its reason in errorMessage; AWS fails RegisterThing with a generic access denial when
// its hook Lambda says no. A refusal does not go away by retrying soon (a locked thing, a claim
// certificate bound to another device), so the plugin retries it on a much slower backoff.
bool is_refusal(const Rejection& rejection);
// "<statusCode> <errorCode>: <errorMessage>" of a /rejected reply (or the raw text if it is not JSON).
std::string describe_rejection(const std::string& json);
// Rotation report replies: the clientToken and, for /rejected, "<code>: <message>".
std::string reply_client_token(const std::string& json);
std::string describe_rotation_rejection(const std::string& json);

}  // namespace iotgw::plugins::fleet_provisioning
