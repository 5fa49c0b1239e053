// What a restart interrupted, found at the first evaluation after start. A gateway can be killed
// at any step of an attempt (see the fault points in fleet_provisioning.cpp); the disk then holds
// enough to finish or undo it:
//   - a rotation record (rotation_record.hpp) naming the certificate now in use as the new one:
//     the promotion happened, the proof or the report did not; prove and report again, so the
//     old certificate still ends INACTIVE. A record naming another certificate is stale (the
//     promotion never happened or was rolled back) and removed.
//   - a complete pending pair in the production credentials: a certificate was issued, registered
//     and stored but not promoted. Finishing with it beats leaving it orphaned in the registry.
//   - a pending key without a certificate: that attempt cannot be finished; the key is discarded.
#pragma once

#include <iotgw/sdk.hpp>

#include <optional>
#include <string>

namespace iotgw::plugins::fleet_provisioning {

struct InterruptedAttempt {
    enum class Step {
        prove_rotation,  // promoted: prove the certificate in use and send the rotation report
        promote_pending  // issued and stored: promote the pending pair, then prove it
    };
    Step step = Step::promote_pending;
    std::string old_id;  // "" when the attempt provisioned (no readable certificate before)
    std::string new_id;
};

struct RestartFindings {
    // The production certificate's path when it is readable ("" otherwise): where its
    // rotation record lives.
    std::string current_cert_path;
    std::optional<InterruptedAttempt> attempt;
};

// Looks at the production credentials `credentials`, removes a stale or unreadable rotation
// record and discards a pending key that cannot be finished (logging each), and says what is left
// to finish.
RestartFindings find_interrupted_attempt(sdk::Host host, const std::string& credentials);

// Removes the rotation record next to `cert_path`; a failure is only logged (a stale record is
// removed again at the next start).
void forget_rotation_record(sdk::Host host, const std::string& cert_path);

}  // namespace iotgw::plugins::fleet_provisioning
