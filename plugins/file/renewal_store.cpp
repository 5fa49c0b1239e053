#include "renewal_store.hpp"
#include "openssl_ptr.hpp"

#include <iotgw/sdk.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

namespace iotgw::plugins::file {
namespace {

using sdk::Error;

std::string errno_text() { return std::strerror(errno); }

std::string openssl_reason() {
    unsigned long last = 0;
    for (unsigned long e; (e = ERR_get_error()) != 0;) last = e;
    if (last == 0) return "unknown OpenSSL error";
    const char* reason = ERR_reason_error_string(last);
    return reason != nullptr ? reason : "unknown OpenSSL error";
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

std::string dir_of(const std::string& path) {
    auto d = std::filesystem::path(path).parent_path();
    return d.empty() ? std::string(".") : d.string();
}

// Makes renames and unlinks in the directory of `path` durable.
void fsync_dir(const std::string& path) {
    const std::string dir = dir_of(path);
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw Error("cannot open directory " + dir + " to sync it: " + errno_text());
    const int rc = ::fsync(fd);
    const int saved = errno;
    ::close(fd);
    if (rc != 0) throw Error("cannot sync directory " + dir + ": " + std::strerror(saved));
}

void rename_file(const std::string& from, const std::string& to) {
    if (::rename(from.c_str(), to.c_str()) != 0)
        throw Error("cannot rename " + from + " to " + to + ": " + errno_text());
}

void remove_file(const std::string& path) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        throw Error("cannot remove " + path + ": " + errno_text());
}

std::string read_small_file(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) throw Error("cannot open " + path + ": " + errno_text());
    std::string out;
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) {
        out.append(buf, n);
        if (out.size() > (1u << 20)) break;
    }
    std::fclose(f);
    return out;
}

BioPtr memory_bio(const std::string& s) {
    BioPtr b(BIO_new_mem_buf(s.data(), static_cast<int>(s.size())));
    if (!b) throw Error("out of memory");
    return b;
}

PkeyPtr read_key_file(const std::string& path) {
    const std::string pem = read_small_file(path);
    auto bio = memory_bio(pem);
    PkeyPtr k(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!k) throw Error("key " + path + " does not parse: " + openssl_reason());
    return k;
}

X509Ptr read_first_cert(const std::string& pem, const std::string& what) {
    ERR_clear_error();
    auto bio = memory_bio(pem);
    X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!x) throw Error(what + " does not contain a PEM certificate OpenSSL can read: " + openssl_reason());
    return x;
}

std::string bio_text(BIO* b) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(b, &data);
    return std::string(data, static_cast<size_t>(n));
}

// Drops `path` and makes that durable; for slots that must not survive a finished step.
void remove_durably(const std::string& a, const std::string& b) {
    remove_file(a);
    remove_file(b);
    fsync_dir(a);
    if (dir_of(a) != dir_of(b)) fsync_dir(b);
}

}  // namespace

void write_file_atomic(const std::string& path, const std::string& content, unsigned mode) {
    const std::string tmp = path + ".tmp";
    int fd =
        ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, static_cast<mode_t>(mode));
    if (fd < 0) throw Error("cannot create " + tmp + ": " + errno_text());
    auto fail = [&](const std::string& what) {
        const int saved = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        throw Error("cannot " + what + " " + tmp + ": " + std::strerror(saved));
    };
    // The umask may have narrowed it; an existing temporary file may have had another mode.
    if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) fail("set the mode of");
    size_t done = 0;
    while (done < content.size()) {
        const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail("write");
        }
        done += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) fail("sync");
    if (::close(fd) != 0) {
        ::unlink(tmp.c_str());
        throw Error("cannot close " + tmp + ": " + errno_text());
    }
    rename_file(tmp, path);
    fsync_dir(path);
}

bool cert_matches_key(const std::string& cert_path, const std::string& key_path) {
    if (!exists(cert_path) || !exists(key_path)) return false;
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

std::string create_pending_key(const SlotPaths& p, const std::string& common_name) {
    ERR_clear_error();
    PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!key) throw Error("cannot generate a P-256 key: " + openssl_reason());

    ReqPtr req(X509_REQ_new());
    if (!req || X509_REQ_set_version(req.get(), 0) != 1)
        throw Error("cannot create a CSR: " + openssl_reason());
    if (!common_name.empty()) {
        X509_NAME* name = X509_REQ_get_subject_name(req.get());
        if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                                       0) != 1)
            throw Error("cannot put CN '" + common_name + "' into the CSR: " + openssl_reason());
    }
    if (X509_REQ_set_pubkey(req.get(), key.get()) != 1 ||
        X509_REQ_sign(req.get(), key.get(), EVP_sha256()) <= 0)
        throw Error("cannot sign the CSR: " + openssl_reason());

    BioPtr key_pem(BIO_new(BIO_s_mem()));
    BioPtr csr_pem(BIO_new(BIO_s_mem()));
    if (!key_pem || !csr_pem) throw Error("out of memory");
    if (PEM_write_bio_PrivateKey(key_pem.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
        PEM_write_bio_X509_REQ(csr_pem.get(), req.get()) != 1)
        throw Error("cannot encode the new key or CSR: " + openssl_reason());

    // An older pending certificate belongs to the older pending key: it goes first.
    remove_file(p.cert_pending);
    write_file_atomic(p.key_pending, bio_text(key_pem.get()), 0600);
    return bio_text(csr_pem.get());
}

void store_pending_certificate(const SlotPaths& p, const std::string& pem) {
    if (!exists(p.key_pending))
        throw Error("there is no pending key " + p.key_pending +
                    " for the certificate: create the key (and CSR) first");
    auto cert = read_first_cert(pem, "the issued certificate");
    auto key = read_key_file(p.key_pending);
    ERR_clear_error();
    if (X509_check_private_key(cert.get(), key.get()) != 1) {
        ERR_clear_error();
        throw Error("the issued certificate does not belong to the pending key " + p.key_pending +
                    " (was it issued for another CSR?)");
    }
    write_file_atomic(p.cert_pending, pem, 0644);
}

bool has_pending_pair(const SlotPaths& p) { return cert_matches_key(p.cert_pending, p.key_pending); }
bool has_backup_pair(const SlotPaths& p) { return cert_matches_key(p.cert_backup, p.key_backup); }

void promote_pending(const SlotPaths& p) {
    if (!has_pending_pair(p))
        throw Error("there is no complete pending pair (" + p.key_pending + " and " + p.cert_pending +
                    " belonging to it) to promote");
    // The backup becomes the current pair; hard links keep `cert` and `key` in place meanwhile.
    remove_durably(p.key_backup, p.cert_backup);
    if (exists(p.cert) && exists(p.key) && cert_matches_key(p.cert, p.key)) {
        if (::link(p.key.c_str(), p.key_backup.c_str()) != 0)
            throw Error("cannot keep " + p.key + " as " + p.key_backup + ": " + errno_text());
        if (::link(p.cert.c_str(), p.cert_backup.c_str()) != 0)
            throw Error("cannot keep " + p.cert + " as " + p.cert_backup + ": " + errno_text());
        fsync_dir(p.key_backup);
        if (dir_of(p.key) != dir_of(p.cert)) fsync_dir(p.cert_backup);
    }
    // Key first: recover_slots() completes the certificate if a crash comes in between.
    rename_file(p.key_pending, p.key);
    fsync_dir(p.key);
    rename_file(p.cert_pending, p.cert);
    fsync_dir(p.cert);
}

void rollback_to_backup(const SlotPaths& p) {
    if (!has_backup_pair(p))
        throw Error("there is no previous pair (" + p.key_backup + " and " + p.cert_backup +
                    " belonging to it) to roll back to");
    rename_file(p.key_backup, p.key);
    fsync_dir(p.key);
    rename_file(p.cert_backup, p.cert);
    fsync_dir(p.cert);
}

void discard_pending(const SlotPaths& p) { remove_durably(p.key_pending, p.cert_pending); }

std::optional<std::string> recover_slots(const SlotPaths& p) {
    std::string done;
    for (const std::string* f : {&p.key_pending, &p.cert_pending, &p.key, &p.cert})
        if (exists(*f + ".tmp")) {
            remove_file(*f + ".tmp");
            fsync_dir(*f);
            done += "removed the unfinished " + *f + ".tmp; ";
        }
    if (exists(p.key) && !cert_matches_key(p.cert, p.key)) {
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

}  // namespace iotgw::plugins::file
