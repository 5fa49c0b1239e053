// The broker plugin's in-memory view of registry.json: parsed once per change of the file, not
// once per CONNECT. mosquitto runs every plugin callback on its one thread, so re-reading the
// whole registry for each CONNECT made authentication cost grow with the number of things
// (issue 17: ~275 CONNECTs/s with 1,000 things). The index re-parses only when the file's stamp
// (mtime in ns, size, inode) changes: one stat per refresh. Writes still go through
// Registry::update's locked read-modify-write, so the CLI's and the plugin's updates never
// overwrite each other; the index only reads, and the atomic rename of every write means it
// always reads a whole version of the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "policy.hpp"
#include "registry.hpp"

namespace localcore {

// What identifies one version of registry.json. Every write renames a new file over the old one,
// so consecutive versions differ at least in inode; mtime and size catch the rest.
struct RegistryStamp {
    std::int64_t mtime_ns = 0;
    std::uintmax_t size = 0;
    std::uintmax_t inode = 0;
    bool exists = false;
    bool operator==(const RegistryStamp&) const = default;

    static RegistryStamp of(const std::filesystem::path& file);
};

class RegistryIndex {
public:
    explicit RegistryIndex(std::filesystem::path file) : file_(std::move(file)) {}
    // The hash maps view strings owned by data_: a copy would point into the original.
    RegistryIndex(const RegistryIndex&) = delete;
    RegistryIndex& operator=(const RegistryIndex&) = delete;

    // One stat; re-reads and re-parses the file only when its stamp changed since the last
    // successful parse. Returns true when the content was rebuilt. Throws Error (naming the file)
    // for a corrupt registry, keeping nothing from it; that version of the file is not parsed
    // again (each refresh throws the same error) until it changes.
    bool refresh();
    // The next refresh() re-reads whatever the stamp says (after a write whose stamp could, in
    // theory, equal the old one within the filesystem's timestamp granularity).
    void invalidate() {
        stamp_.reset();
        failed_stamp_.reset();
    }

    const RegistryData& data() const { return data_; }
    // Hash lookups on the current content; nullptr when absent.
    const Certificate* certificate(std::string_view id) const;
    // The compiled form of a stored policy; nullptr when absent or broken (a broken policy grants
    // nothing; policy_errors() says why).
    const Policy* policy(std::string_view name) const;
    // One message per stored policy that does not compile, for the log (once per change).
    const std::vector<std::string>& policy_errors() const { return policy_errors_; }

    // Increases with every rebuild: watchers compare it to tell whether anything changed.
    std::uint64_t generation() const { return generation_; }
    // Test hook: how many times the file was parsed.
    std::uint64_t parse_count() const { return parse_count_; }

private:
    void rebuild(RegistryData data);

    std::filesystem::path file_;
    std::optional<RegistryStamp> stamp_;
    std::optional<RegistryStamp> failed_stamp_;  // the corrupt version, and why (failure_)
    std::string failure_;
    RegistryData data_;
    std::unordered_map<std::string_view, const Certificate*> certificates_;
    std::unordered_map<std::string_view, Policy> policies_;
    std::vector<std::string> policy_errors_;
    std::uint64_t generation_ = 0;
    std::uint64_t parse_count_ = 0;
};

// The certificate part of CONNECT authentication (AWS IoT Core's X.509 check), shared by the
// plugin's basic-auth handler and bench_localcore_auth: the certificate must be registered and
// ACTIVE; the result carries the policy variables about the thing and the compiled policies.
struct CertificateAuthentication {
    const Certificate* certificate = nullptr;  // nullptr: refused, see refusal
    std::string refusal;
    bool thing_attached = false;  // a thing named like the client id is attached to it
    PolicySet policies;
};
CertificateAuthentication authenticate_certificate(const RegistryIndex& index, std::string_view fingerprint,
                                                   std::string_view client_id);
// The policies and the iot:Connection.Thing.* variables of an already-authenticated certificate.
// iot:Connection.Thing.*: with a non-exclusive association the thing is the one attached to the
// certificate whose name equals the client id (docs/aws-iot-core.md section 2.3).
void attached_policies(const RegistryIndex& index, const Certificate& certificate, std::string_view client_id,
                       PolicySet& policies, bool& thing_attached);

}  // namespace localcore
