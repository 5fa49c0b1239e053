// The renewal slots of a credentials provider, next to its configured `cert` and `key` (header
// only; plugins/common is not a plugin). One implementation for `file` and the hardware-key
// providers (`pkcs11`, `tpm`), so operators and provisioning see one behaviour:
//   pending: <key>.pending, <cert>.pending   (a new key, then the certificate issued for it)
//   backup:  <key>.previous, <cert>.previous (the pair the last promotion replaced)
// A key file is a PEM private key or, for hardware keys, a PEM reference to one (TSS2 PEM, PKCS#11
// URI PEM); both are decoded with PEM_read_bio_PrivateKey in the default OpenSSL library context,
// where the provider that understands the reference has been loaded. Every change is crash-safe
// (durable_file.hpp); a promotion or rollback moves two files and so cannot be one rename: both
// rename the KEY first, and recover_slots() finishes an interrupted one (the certificate that
// belongs to the key on disk is still under its .pending or .previous name). The fault points
// ("slots.*", fault_point.hpp) let the crash-consistency tests stop the process between steps.
#pragma once

#include "durable_file.hpp"
#include "fault_point.hpp"
#include "openssl_ptr.hpp"

#include <iotgw/sdk.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <unistd.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace iotgw::plugins::slots {

struct SlotPaths {
    explicit SlotPaths(const std::string& cert_path, const std::string& key_path)
        : cert(cert_path),
          key(key_path),
          cert_pending(cert_path + ".pending"),
          key_pending(key_path + ".pending"),
          cert_backup(cert_path + ".previous"),
          key_backup(key_path + ".previous") {}
    std::string cert, key, cert_pending, key_pending, cert_backup, key_backup;
};

namespace detail {

// The most specific reason OpenSSL queued, with its detail text when there is one (providers put
// the hardware's own reason there); clears the queue.
inline std::string openssl_reason() {
    unsigned long last = 0;
    std::string data;
    for (;;) {
        const char* d = nullptr;
        int flags = 0;
        const unsigned long e = ERR_get_error_all(nullptr, nullptr, nullptr, &d, &flags);
        if (e == 0) break;
        last = e;
        data = (d != nullptr && (flags & ERR_TXT_STRING) != 0) ? d : "";
    }
    if (last == 0) return "unknown OpenSSL error";
    const char* reason = ERR_reason_error_string(last);
    std::string out = reason != nullptr ? reason : "unknown OpenSSL error";
    if (!data.empty()) out += " (" + data + ")";
    return out;
}

// Key and certificate files are small; the cap keeps a wrong path (a device, a huge file) harmless.
inline std::string read_small_file(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) throw sdk::Error("cannot open " + path + ": " + durable::errno_text());
    std::string out;
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) {
        out.append(buf, n);
        if (out.size() > (1u << 20)) break;
    }
    std::fclose(f);
    return out;
}

// A daemon has no one to ask for a passphrase: an encrypted key fails instead of prompting.
inline int no_passphrase(char*, int, int, void*) { return -1; }

// Decodes a PEM private key, or a reference to a hardware key through its loaded provider (the TPM
// or token is asked for the key).
inline ossl::PkeyPtr read_key_file(const std::string& path) {
    const std::string pem = read_small_file(path);
    ERR_clear_error();
    ossl::BioPtr bio = ossl::memory_reader(pem);
    ossl::PkeyPtr k(PEM_read_bio_PrivateKey(bio.get(), nullptr, &no_passphrase, nullptr));
    if (!k)
        throw sdk::Error(
            "key " + path +
            " does not parse (as a PEM private key, or through its OpenSSL provider): " + openssl_reason());
    return k;
}

inline ossl::X509Ptr read_first_cert(const std::string& pem, const std::string& what) {
    ERR_clear_error();
    ossl::BioPtr bio = ossl::memory_reader(pem);
    ossl::X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!x)
        throw sdk::Error(what + " does not contain a PEM certificate OpenSSL can read: " + openssl_reason());
    return x;
}

// Drops both files of a slot and makes that durable; for slots that must not survive a finished step.
inline void remove_durably(const std::string& a, const std::string& b) {
    durable::remove_file(a);
    durable::remove_file(b);
    durable::fsync_dir(a);
    if (durable::dir_of(a) != durable::dir_of(b)) durable::fsync_dir(b);
}

}  // namespace detail

// Whether the first certificate in `cert_path` belongs to the key in (or referred to by) `key_path`;
// false when either is missing or does not parse.
inline bool cert_matches_key(const std::string& cert_path, const std::string& key_path) {
    if (!durable::exists(cert_path) || !durable::exists(key_path)) return false;
    try {
        auto key = detail::read_key_file(key_path);
        auto cert = detail::read_first_cert(detail::read_small_file(cert_path), "certificate " + cert_path);
        ERR_clear_error();
        const bool ok = X509_check_private_key(cert.get(), key.get()) == 1;
        ERR_clear_error();
        return ok;
    } catch (const std::exception&) {
        return false;
    }
}

// Keeps `pem` (a certificate chain) as the pending certificate after checking that its first
// certificate belongs to the pending key. Throws with the reason otherwise.
inline void store_pending_certificate(const SlotPaths& p, const std::string& pem) {
    if (!durable::exists(p.key_pending))
        throw sdk::Error("there is no pending key " + p.key_pending +
                         " for the certificate: create the key (and CSR) first");
    auto cert = detail::read_first_cert(pem, "the issued certificate");
    auto key = detail::read_key_file(p.key_pending);
    ERR_clear_error();
    if (X509_check_private_key(cert.get(), key.get()) != 1) {
        ERR_clear_error();
        throw sdk::Error("the issued certificate does not belong to the pending key " + p.key_pending +
                         " (was it issued for another CSR?)");
    }
    durable::write_file_atomic(p.cert_pending, pem, 0644);
    fault_point("slots.cert_stored");
}

// True when a complete pair (key + the certificate belonging to it) is in that slot.
inline bool has_pending_pair(const SlotPaths& p) { return cert_matches_key(p.cert_pending, p.key_pending); }
inline bool has_backup_pair(const SlotPaths& p) { return cert_matches_key(p.cert_backup, p.key_backup); }

// current -> backup (hard links, so `cert`/`key` never disappear), pending -> current.
inline void promote_pending(const SlotPaths& p) {
    if (!has_pending_pair(p))
        throw sdk::Error("there is no complete pending pair (" + p.key_pending + " and " + p.cert_pending +
                         " belonging to it) to promote");
    detail::remove_durably(p.key_backup, p.cert_backup);
    if (cert_matches_key(p.cert, p.key)) {
        if (::link(p.key.c_str(), p.key_backup.c_str()) != 0)
            throw sdk::Error("cannot keep " + p.key + " as " + p.key_backup + ": " + durable::errno_text());
        if (::link(p.cert.c_str(), p.cert_backup.c_str()) != 0)
            throw sdk::Error("cannot keep " + p.cert + " as " + p.cert_backup + ": " + durable::errno_text());
        durable::fsync_dir(p.key_backup);
        if (durable::dir_of(p.key) != durable::dir_of(p.cert)) durable::fsync_dir(p.cert_backup);
    }
    fault_point("slots.promote.backup_linked");
    // Key first: recover_slots() completes the certificate if a crash comes in between.
    durable::rename_file(p.key_pending, p.key);
    durable::fsync_dir(p.key);
    fault_point("slots.promote.key_moved");
    durable::rename_file(p.cert_pending, p.cert);
    durable::fsync_dir(p.cert);
}

// backup -> current; the current pair is dropped.
inline void rollback_to_backup(const SlotPaths& p) {
    if (!has_backup_pair(p))
        throw sdk::Error("there is no previous pair (" + p.key_backup + " and " + p.cert_backup +
                         " belonging to it) to roll back to");
    durable::rename_file(p.key_backup, p.key);
    durable::fsync_dir(p.key);
    fault_point("slots.rollback.key_moved");
    durable::rename_file(p.cert_backup, p.cert);
    durable::fsync_dir(p.cert);
}

inline void discard_pending(const SlotPaths& p) { detail::remove_durably(p.key_pending, p.cert_pending); }

// Finishes a promotion or rollback a crash interrupted, removes stale temporary files. Returns a
// sentence for the log when it changed anything.
inline std::optional<std::string> recover_slots(const SlotPaths& p) {
    std::string done;
    for (const std::string* f : {&p.key_pending, &p.cert_pending, &p.key, &p.cert})
        if (durable::exists(*f + ".tmp")) {
            durable::remove_file(*f + ".tmp");
            durable::fsync_dir(*f);
            done += "removed the unfinished " + *f + ".tmp; ";
        }
    if (durable::exists(p.key) && !cert_matches_key(p.cert, p.key)) {
        // The key was renamed into place, the certificate not yet: it is still under its old name.
        for (const auto& [candidate, what] :
             {std::pair{&p.cert_pending, "promotion"}, std::pair{&p.cert_backup, "rollback"}}) {
            if (cert_matches_key(*candidate, p.key)) {
                durable::rename_file(*candidate, p.cert);
                durable::fsync_dir(p.cert);
                done += std::string("completed an interrupted ") + what + " (" + *candidate + " -> " +
                        p.cert + "); ";
                break;
            }
        }
    }
    if (done.empty()) return std::nullopt;
    done.resize(done.size() - 2);
    return done;
}

// One renewal step (sdk::RenewalOp) on the slots, with the same log lines for every provider, and
// its completion. `create_key(common_name)` makes the pending key where the provider keeps keys,
// logs what it made and returns the CSR; `after_switch(reason)` announces the pair now in use
// after a promotion or rollback.
template <class CreateKey, class AfterSwitch>
void run_renewal_op(const sdk::Host& host, const SlotPaths& s, sdk::RenewalOp op, const std::string& input,
                    sdk::CredentialsProvider::RenewalCompletion& done, CreateKey&& create_key,
                    AfterSwitch&& after_switch) {
    using Op = sdk::RenewalOp;
    std::string output;
    try {
        switch (op) {
            case Op::create_key:
                output = create_key(input);
                break;
            case Op::store_cert:
                store_pending_certificate(s, input);
                host.notice("stored the issued certificate as pending: ", s.cert_pending);
                break;
            case Op::promote:
                promote_pending(s);
                host.notice("promoted the pending key and certificate to ", s.key, " and ", s.cert,
                            "; the previous ones are kept as ", s.key_backup, " and ", s.cert_backup);
                after_switch("promoted");
                break;
            case Op::discard:
                discard_pending(s);
                host.info("discarded the pending key and certificate");
                break;
            case Op::rollback:
                rollback_to_backup(s);
                host.warning("rolled back to the previous key and certificate (", s.cert, ")");
                after_switch("rolled back");
                break;
        }
    } catch (const std::exception& e) {
        done.fail(std::string(sdk::renewal_op_name(op)) + " failed: " + e.what());
        return;
    }
    done.succeed(std::move(output));
}

}  // namespace iotgw::plugins::slots
