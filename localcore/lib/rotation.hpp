// The backend step of certificate rotation (docs/aws-iot-core.md section 6, steps 3
// and 4): after a device has connected with its NEW certificate it reports the rotation, and the
// backend deactivates the OLD certificate and detaches it from the thing. Devices have no AWS API for
// this; on AWS it is an IoT rule
//   SELECT *, topic(2) AS thingName, principal() AS principal FROM 'amr/+/certificate/rotated'
// invoking a Lambda (cloud/provisioning/README.md). This engine is that Lambda for localcore.
//
// Request: amr/{thing}/certificate/rotated  {"oldCertificateId": "<64 hex>", "clientToken": "..."?}
// Replies (only to the requester):
//   amr/{thing}/certificate/rotated/accepted  {"oldCertificateId", "newCertificateId",
//                                              "status": "INACTIVE", "clientToken"?}
//   amr/{thing}/certificate/rotated/rejected  {"code": int, "message": "...", "clientToken"?}
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "outbound_message.hpp"
#include "provisioning.hpp"
#include "registry.hpp"

namespace localcore {

class CertificateRotation {
public:
    explicit CertificateRotation(Registry& registry) : registry_(registry) {}

    // amr/{thing}/certificate/rotated (exactly; the replies are not requests).
    static bool is_request_topic(std::string_view topic);

    // Accepts only when the connection's certificate (principal()) is ACTIVE, the topic's thing is the
    // connection's thing, both certificates are attached to it, old != new and old is not REVOKED.
    // Then old -> INACTIVE and old detached from the thing (its policies stay) in one registry update.
    // An old certificate already INACTIVE is accepted again without change (a retry after a lost reply).
    // Never throws: failures become a /rejected reply.
    std::vector<OutboundMessage> handle(std::string_view topic, std::string_view payload,
                                        const RequesterContext& requester, std::int64_t now_ms);

private:
    Registry& registry_;
};

}  // namespace localcore
