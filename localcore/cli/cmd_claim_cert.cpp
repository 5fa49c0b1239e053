// issue-claim-cert --thing NAME: a per-device claim certificate (subject CN = the thing name), the
// factory step of fleet provisioning. Idempotent per device: the same key gives back the certificate
// already registered; another key is refused unless --replace, which revokes the old one.
#include <algorithm>
#include <iostream>

#include "atomic_file.hpp"
#include "ca.hpp"
#include "cli.hpp"
#include "registry.hpp"

namespace localcore::cli {
namespace {

// The claim certificates already issued for `thing`: subject CN = thing, the claim policy attached,
// no thing attached (production certificates with the same CN carry the device policy), not revoked.
std::vector<Certificate> claim_certificates_of(const RegistryData& data, const std::string& thing,
                                               const std::string& policy) {
    std::vector<Certificate> out;
    for (const auto& [id, c] : data.certificates) {
        const bool has_policy = std::find(c.policies.begin(), c.policies.end(), policy) != c.policies.end();
        if (c.subject_cn == thing && has_policy && c.things.empty() && c.status != CertStatus::Revoked)
            out.push_back(c);
    }
    return out;
}

// Writes the certificate to `path` unless it already holds exactly this certificate.
void write_certificate(const std::filesystem::path& path, const std::string& pem, bool replace) {
    if (auto existing = read_file_if_exists(path); existing && *existing == pem) return;
    if (replace)
        write_file_atomic(path, pem, 0644);
    else
        write_new_file_atomic(path, pem, 0644);
}

}  // namespace

void issue_device_claim_cert(const Args& args, CertStatus status) {
    if (args.option("--cn"))
        throw UsageError(
            "--cn is only for --fleet-wide; a per-device claim certificate's CN is --thing NAME");
    const auto thing = args.required_option("--thing");
    validate_thing_name(thing);
    const std::string out = args.required_option("--out");
    const auto life = parse_lifetime(args.option_or("--lifetime", "20y"));
    const auto policy = args.option_or("--policy", "claim");
    const bool replace = args.option("--replace").has_value();
    const auto data_dir = args.data();
    auto registry = Registry::open(data_dir);
    const auto snapshot = registry.snapshot();
    if (!snapshot.policies.count(policy))
        throw Error("policy '" + policy + "' does not exist; add it with `localcore put-policy " + policy +
                    " FILE`");

    // The key: in a CSR made on the device (it never leaves it), or PREFIX.key when it already
    // exists (reused, never overwritten), or a new one generated here.
    const std::filesystem::path key_path = out + ".key";
    const std::filesystem::path cert_path = out + ".pem";
    std::optional<std::string> csr, key;
    std::string public_key;  // empty: a new key
    if (auto csr_file = args.option("--csr")) {
        csr = read_file(*csr_file);
        const auto info = inspect_csr_pem(*csr);
        if (info.subject_cn != thing)
            throw Error("the CSR " + *csr_file + " names CN '" + info.subject_cn + "', not '" + thing +
                        "'; make the CSR on the device with subject CN=" + thing);
        public_key = info.public_key_sha256;
    } else if ((key = read_file_if_exists(key_path))) {
        public_key = private_key_public_key_sha256(*key);
    }

    const auto existing = claim_certificates_of(snapshot, thing, policy);
    for (const auto& c : existing) {
        if (!public_key.empty() && certificate_public_key_sha256(c.pem) == public_key) {
            write_certificate(cert_path, c.pem, replace);
            std::cout << c.id << "\n";  // already issued for this key: nothing new
            return;
        }
    }
    if (!existing.empty() && !replace)
        throw Error("thing " + thing + " already has claim certificate " + existing.front().id +
                    " for another key; pass --replace to revoke it and issue a new one (the device must then "
                    "use the new key)");

    const auto ca = Ca::open(data_dir / "ca");
    std::string pem;
    bool wrote_key = false;
    if (csr) {
        pem = ca.sign_csr(*csr, life, "");  // keeps the CSR's subject, as AWS does
    } else if (key) {
        pem = ca.issue_for_key(*key, thing, life);
    } else {
        const auto issued = ca.issue(thing, life);
        write_new_file_atomic(key_path, issued.key_pem, 0600);
        wrote_key = true;
        pem = issued.cert_pem;
    }
    std::string id;
    try {
        write_certificate(cert_path, pem, replace);
        id = registry.add_certificate(pem, status, {}, {policy});
    } catch (...) {
        std::error_code ec;
        if (wrote_key) std::filesystem::remove(key_path, ec);
        std::filesystem::remove(cert_path, ec);
        throw;
    }
    // The new certificate is registered before the old ones are revoked, so the device is never
    // left without a claim certificate.
    for (const auto& c : existing) {
        registry.set_status(c.id, CertStatus::Revoked);
        std::cerr << "localcore: revoked the previous claim certificate " << c.id << " of " << thing << "\n";
    }
    std::cout << id << "\n";
}

}  // namespace localcore::cli
