#include "registry_index.hpp"

#include <algorithm>

#include <sys/stat.h>

namespace localcore {

RegistryStamp RegistryStamp::of(const std::filesystem::path& file) {
    struct stat st {};
    RegistryStamp stamp;
    if (::stat(file.c_str(), &st) == 0) {
        stamp.exists = true;
        stamp.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
        stamp.size = static_cast<std::uintmax_t>(st.st_size);
        stamp.inode = static_cast<std::uintmax_t>(st.st_ino);
    }
    return stamp;
}

bool RegistryIndex::refresh() {
    // The stamp is taken before reading: should a write land in between, the content read is the
    // newer one and the next refresh merely parses it again; the index is never older than its stamp.
    const RegistryStamp stamp = RegistryStamp::of(file_);
    if (stamp_ && *stamp_ == stamp) return false;
    if (failed_stamp_ && *failed_stamp_ == stamp) throw Error(failure_);
    RegistryData data;
    try {
        if (stamp.exists) {
            if (auto text = read_file_if_exists(file_)) {
                ++parse_count_;
                data = parse_registry_json(*text, file_);
            }
        }
    } catch (const Error& e) {
        // Nothing of the old content is kept: CONNECTs are refused as they were with the file read
        // each time, rather than served from a registry that no longer is on disk.
        rebuild({});
        stamp_.reset();
        failed_stamp_ = stamp;
        failure_ = e.what();
        throw;
    }
    failed_stamp_.reset();
    rebuild(std::move(data));
    stamp_ = stamp;
    return true;
}

void RegistryIndex::rebuild(RegistryData data) {
    certificates_.clear();
    policies_.clear();
    policy_errors_.clear();
    data_ = std::move(data);
    // Keys view the strings of data_, which stay put until the next rebuild (std::map nodes).
    certificates_.reserve(data_.certificates.size());
    for (const auto& [id, cert] : data_.certificates) certificates_.emplace(id, &cert);
    // Policies compiled once per change of the file, not at every CONNECT.
    for (const auto& [name, record] : data_.policies) {
        try {
            policies_.emplace(name, Policy::parse(record.document, name));
        } catch (const PolicyError& e) {
            policy_errors_.push_back(e.what());
        }
    }
    ++generation_;
}

const Certificate* RegistryIndex::certificate(std::string_view id) const {
    const auto it = certificates_.find(id);
    return it == certificates_.end() ? nullptr : it->second;
}

const Policy* RegistryIndex::policy(std::string_view name) const {
    const auto it = policies_.find(name);
    return it == policies_.end() ? nullptr : &it->second;
}

void attached_policies(const RegistryIndex& index, const Certificate& certificate, std::string_view client_id,
                       PolicySet& policies, bool& thing_attached) {
    const auto& things = certificate.things;
    thing_attached = std::find(things.begin(), things.end(), client_id) != things.end();
    for (const std::string& name : certificate.policies)
        if (const Policy* policy = index.policy(name)) policies.add(*policy);
}

CertificateAuthentication authenticate_certificate(const RegistryIndex& index, std::string_view fingerprint,
                                                   std::string_view client_id) {
    CertificateAuthentication out;
    const Certificate* cert = index.certificate(fingerprint);
    if (cert == nullptr) {
        out.refusal = "certificate " + std::string(fingerprint) + " is not registered; register it with `localcore`";
        return out;
    }
    if (cert->status != CertStatus::Active) {
        out.refusal = "certificate " + std::string(fingerprint) + " is " + std::string(to_string(cert->status)) +
                      ", only ACTIVE certificates connect";
        return out;
    }
    out.certificate = cert;
    attached_policies(index, *cert, client_id, out.policies, out.thing_attached);
    return out;
}

}  // namespace localcore
