#include "interrupted_attempt.hpp"

#include "rotation_record.hpp"

#include <iotgw/plugins/common/certificate_info.hpp>

#include <exception>

namespace iotgw::plugins::fleet_provisioning {
namespace {

std::string short_id(const std::string& id) { return id.substr(0, 12); }

// A rotation record: the promotion may have happened but not the report.
std::optional<InterruptedAttempt> unreported_rotation(sdk::Host host, const std::string& cert_path,
                                                      const std::string& current_id) {
    std::string problem;
    const auto record = load_rotation_record(rotation_record_path(cert_path), problem);
    if (!problem.empty()) {
        host.warning(problem, "; removing it");
        forget_rotation_record(host, cert_path);
    }
    if (record && record->new_id == current_id)
        return InterruptedAttempt{InterruptedAttempt::Step::prove_rotation, record->old_id, record->new_id};
    if (record) {
        host.info("removing the record of a rotation that never switched (certificate ", short_id(current_id),
                  " is still in use)");
        forget_rotation_record(host, cert_path);
    }
    return std::nullopt;
}

// A complete pending pair: a certificate was issued and stored but not promoted.
std::optional<common::CertificateInfo> pending_certificate(sdk::Host host, const std::string& credentials) {
    sdk::Credentials pending;
    try {
        pending = host.pending_credentials(credentials);
    } catch (const std::exception&) {
        return std::nullopt;
    }
    return common::read_certificate_info(pending.cert_chain_path);
}

}  // namespace

void forget_rotation_record(sdk::Host host, const std::string& cert_path) {
    if (cert_path.empty()) return;
    try {
        remove_rotation_record(rotation_record_path(cert_path));
    } catch (const std::exception& e) {
        host.warning("cannot remove the rotation record: ", e.what());
    }
}

RestartFindings find_interrupted_attempt(sdk::Host host, const std::string& credentials) {
    RestartFindings found;
    sdk::Credentials creds;
    std::optional<common::CertificateInfo> current;
    try {
        creds = host.credentials(credentials);
        current = common::read_certificate_info(creds.cert_chain_path);
    } catch (const std::exception&) {}
    if (current) {
        found.current_cert_path = creds.cert_chain_path;
        found.attempt = unreported_rotation(host, found.current_cert_path, current->id);
        if (found.attempt) return found;
    }
    if (const auto pending = pending_certificate(host, credentials)) {
        found.attempt = InterruptedAttempt{InterruptedAttempt::Step::promote_pending,
                                           current ? current->id : std::string(), pending->id};
        return found;
    }
    // A pending key without its certificate: that attempt cannot be finished.
    try {
        host.renew_credentials(credentials, sdk::RenewalOp::discard, "", [](const sdk::RenewalResult&) {});
    } catch (const std::exception& e) {
        host.debug("discarding a pending key left by an earlier run: ", e.what());
    }
    return found;
}

}  // namespace iotgw::plugins::fleet_provisioning
