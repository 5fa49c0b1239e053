// The persisted registry of things, certificates, policies and their attachments: the local
// equivalent of the AWS IoT Core registry. One JSON file (DIR/registry.json) written atomically;
// every mutation is a locked read-modify-write (DIR/registry.lock) so the CLI and the broker
// plugin never lose each other's updates.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "atomic_file.hpp"

namespace localcore {

enum class CertStatus { Active, Inactive, Revoked, PendingActivation };

std::string_view to_string(CertStatus status);
// Accepts the AWS spellings (ACTIVE, INACTIVE, REVOKED, PENDING_ACTIVATION); throws Error listing
// them otherwise.
CertStatus parse_cert_status(std::string_view text);

struct Thing {
    std::string name;
    std::map<std::string, std::string> attributes;
};

struct Certificate {
    std::string id;  // SHA-256 fingerprint of the DER, lowercase hex (64 chars), like AWS's ids
    std::string pem;
    CertStatus status = CertStatus::Inactive;
    std::int64_t created = 0;    // epoch seconds
    std::int64_t not_after = 0;  // epoch seconds
    std::string subject_cn;
    std::vector<std::string> things;    // attached things (sorted, unique)
    std::vector<std::string> policies;  // attached policy names (sorted, unique)
    // The thing whose certificate rotation made this certificate INACTIVE and detached it ("" if
    // none): only that thing's retry of the report is answered "already done".
    std::string retired_by_rotation_of;
};

// A stored policy document (the compiled form is policy.hpp's Policy).
struct PolicyRecord {
    std::string name;
    std::string document;  // the JSON text exactly as given
};

// The whole registry content at one point in time.
struct RegistryData {
    std::map<std::string, Thing> things;
    std::map<std::string, Certificate> certificates;
    std::map<std::string, PolicyRecord> policies;
};

// What the registry needs to know about a certificate PEM.
struct CertificateInfo {
    std::string fingerprint;  // SHA-256 of the DER, lowercase hex
    std::string subject_cn;
    std::int64_t not_after = 0;
};
CertificateInfo inspect_certificate_pem(std::string_view pem);

// Throws Error when `name` is not [a-zA-Z0-9:_-]{1,128} (the AWS thing name rule).
void validate_thing_name(std::string_view name);
// Throws Error when `name` is not [a-zA-Z0-9+=,.@_-]{1,128} (the AWS policy name rule).
void validate_policy_name(std::string_view name);

class Registry {
public:
    // `dir` must exist; a missing registry.json is an empty registry, a corrupt one is refused.
    static Registry open(const std::filesystem::path& dir);

    const std::filesystem::path& dir() const { return dir_; }
    std::filesystem::path file() const { return dir_ / "registry.json"; }

    // Reads: each returns what is on disk now (the broker plugin sees CLI changes immediately).
    RegistryData snapshot() const;
    std::optional<Thing> thing(std::string_view name) const;
    std::optional<Certificate> certificate(std::string_view id) const;
    std::optional<PolicyRecord> policy(std::string_view name) const;
    std::vector<Thing> things() const;
    std::vector<Certificate> certificates() const;
    std::vector<PolicyRecord> policies() const;
    // The peer-certificate lookup for authentication: `fingerprint_hex` is the SHA-256 of the DER.
    std::optional<Certificate> find_certificate_by_der_fingerprint(std::string_view fingerprint_hex) const;
    // Full id from a full id or a unique prefix of at least 8 hex characters.
    std::string resolve_certificate_id(std::string_view id_or_prefix) const;

    // Mutations (each one locked read-modify-write).
    void create_thing(std::string_view name, std::map<std::string, std::string> attributes = {});
    // Sets one attribute of an existing thing, keeping the others (AWS update-thing with merge).
    void set_thing_attribute(std::string_view thing, std::string_view key, std::string_view value);
    // Registers a certificate, attaching `things` and `policies` in the same write. Any status may
    // be given here (issuing is the only way to get PENDING_ACTIVATION). Returns the id.
    std::string add_certificate(std::string_view pem, CertStatus status,
                                const std::vector<std::string>& things = {},
                                const std::vector<std::string>& policies = {});
    // The CLI/API status change: PENDING_* cannot be set and REVOKED is permanent.
    void set_status(std::string_view cert_id, CertStatus status);
    void attach_thing(std::string_view cert_id, std::string_view thing);
    void detach_thing(std::string_view cert_id, std::string_view thing);
    void attach_policy(std::string_view cert_id, std::string_view policy_name);
    void detach_policy(std::string_view cert_id, std::string_view policy_name);
    // Creates or replaces a policy; `json_text` must be a JSON object.
    void put_policy(std::string_view name, std::string_view json_text);

    // Runs `change` on the current content under the lock and saves the result: the building block
    // for multi-step changes (fleet provisioning, rotation) that must be atomic.
    void update(const std::function<void(RegistryData&)>& change);

private:
    explicit Registry(std::filesystem::path dir) : dir_(std::move(dir)) {}
    std::filesystem::path dir_;
};

// Serialisation, exposed for tests and tools.
RegistryData parse_registry_json(std::string_view text, const std::filesystem::path& source);
std::string registry_to_json(const RegistryData& data);

}  // namespace localcore
