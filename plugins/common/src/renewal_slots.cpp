#include <iotgw/plugins/common/durable_file.hpp>
#include <iotgw/plugins/common/fault_point.hpp>
#include <iotgw/plugins/common/openssl_error.hpp>
#include <iotgw/plugins/common/renewal_slots.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <unistd.h>

#include <cstdio>

namespace iotgw::plugins::common {

std::string read_small_file(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) throw sdk::Error("cannot open " + path + ": " + errno_text());
    std::string out;
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) {
        out.append(buf, n);
        if (out.size() > (1u << 20)) break;
    }
    std::fclose(f);
    return out;
}

int no_passphrase(char*, int, int, void*) { return -1; }

X509Ptr read_first_cert(const std::string& pem, const std::string& what) {
    ERR_clear_error();
    BioPtr bio = memory_reader(pem);
    X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!x)
        throw sdk::Error(what + " does not contain a PEM certificate OpenSSL can read: " + openssl_reason());
    return x;
}

namespace {

// Decodes a PEM private key, or a reference to a hardware key through its loaded provider (the TPM
// or token is asked for the key).
PkeyPtr read_key_file(const std::string& path) {
    const std::string pem = read_small_file(path);
    ERR_clear_error();
    BioPtr bio = memory_reader(pem);
    PkeyPtr k(PEM_read_bio_PrivateKey(bio.get(), nullptr, &no_passphrase, nullptr));
    if (!k)
        throw sdk::Error(
            "key " + path +
            " does not parse (as a PEM private key, or through its OpenSSL provider): " + openssl_reason());
    return k;
}

// Drops both files of a slot and makes that durable; for slots that must not survive a finished step.
void remove_durably(const std::string& a, const std::string& b) {
    remove_file(a);
    remove_file(b);
    fsync_dir(a);
    if (dir_of(a) != dir_of(b)) fsync_dir(b);
}

}  // namespace

bool cert_matches_key(const std::string& cert_path, const std::string& key_path) {
    if (!path_exists(cert_path) || !path_exists(key_path)) return false;
    try {
        auto key = read_key_file(key_path);
        auto cert = read_first_cert(read_small_file(cert_path), "certificate " + cert_path);
        ERR_clear_error();
        const bool ok = X509_check_private_key(cert.get(), key.get()) == 1;
        ERR_clear_error();
        return ok;
    } catch (const std::exception&) {
        return false;
    }
}

void store_pending_certificate(const SlotPaths& p, const std::string& pem) {
    if (!path_exists(p.key_pending))
        throw sdk::Error("there is no pending key " + p.key_pending +
                         " for the certificate: create the key (and CSR) first");
    auto cert = read_first_cert(pem, "the issued certificate");
    auto key = read_key_file(p.key_pending);
    ERR_clear_error();
    if (X509_check_private_key(cert.get(), key.get()) != 1) {
        ERR_clear_error();
        throw sdk::Error("the issued certificate does not belong to the pending key " + p.key_pending +
                         " (was it issued for another CSR?)");
    }
    write_file_atomic(p.cert_pending, pem, 0644);
    fault_point("slots.cert_stored");
}

bool has_pending_pair(const SlotPaths& p) { return cert_matches_key(p.cert_pending, p.key_pending); }
bool has_backup_pair(const SlotPaths& p) { return cert_matches_key(p.cert_backup, p.key_backup); }

void promote_pending(const SlotPaths& p) {
    if (!has_pending_pair(p))
        throw sdk::Error("there is no complete pending pair (" + p.key_pending + " and " + p.cert_pending +
                         " belonging to it) to promote");
    remove_durably(p.key_backup, p.cert_backup);
    if (cert_matches_key(p.cert, p.key)) {
        if (::link(p.key.c_str(), p.key_backup.c_str()) != 0)
            throw sdk::Error("cannot keep " + p.key + " as " + p.key_backup + ": " + errno_text());
        if (::link(p.cert.c_str(), p.cert_backup.c_str()) != 0)
            throw sdk::Error("cannot keep " + p.cert + " as " + p.cert_backup + ": " + errno_text());
        fsync_dir(p.key_backup);
        if (dir_of(p.key) != dir_of(p.cert)) fsync_dir(p.cert_backup);
    }
    fault_point("slots.promote.backup_linked");
    // Key first: recover_slots() completes the certificate if a crash comes in between.
    rename_file(p.key_pending, p.key);
    fsync_dir(p.key);
    fault_point("slots.promote.key_moved");
    rename_file(p.cert_pending, p.cert);
    fsync_dir(p.cert);
}

void rollback_to_backup(const SlotPaths& p) {
    if (!has_backup_pair(p))
        throw sdk::Error("there is no previous pair (" + p.key_backup + " and " + p.cert_backup +
                         " belonging to it) to roll back to");
    rename_file(p.key_backup, p.key);
    fsync_dir(p.key);
    fault_point("slots.rollback.key_moved");
    rename_file(p.cert_backup, p.cert);
    fsync_dir(p.cert);
}

void discard_pending(const SlotPaths& p) { remove_durably(p.key_pending, p.cert_pending); }

std::optional<std::string> recover_slots(const SlotPaths& p) {
    std::string done;
    for (const std::string* f : {&p.key_pending, &p.cert_pending, &p.key, &p.cert})
        if (path_exists(*f + ".tmp")) {
            remove_file(*f + ".tmp");
            fsync_dir(*f);
            done += "removed the unfinished " + *f + ".tmp; ";
        }
    if (path_exists(p.key) && !cert_matches_key(p.cert, p.key)) {
        // The key was renamed into place, the certificate not yet: it is still under its old name.
        for (const auto& [candidate, what] :
             {std::pair{&p.cert_pending, "promotion"}, std::pair{&p.cert_backup, "rollback"}}) {
            if (cert_matches_key(*candidate, p.key)) {
                rename_file(*candidate, p.cert);
                fsync_dir(p.cert);
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

}  // namespace iotgw::plugins::common
