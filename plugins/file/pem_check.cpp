#include "pem_check.hpp"

#include <iotgw/plugins/common/openssl_ptr.hpp>

#include <iotgw/sdk.hpp>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <vector>

namespace iotgw::plugins::file {
namespace {

using sdk::ConfigError;
using common::PkeyPtr;
using common::X509Ptr;

constexpr size_t kMaxFileBytes = 1 << 20;  // no credential file is near this; a mistake is

std::string mode_text(mode_t m) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
    return buf;
}

const char* file_type(mode_t m) {
    if (S_ISDIR(m)) return "a directory";
    if (S_ISFIFO(m)) return "a named pipe";
    if (S_ISSOCK(m)) return "a socket";
    if (S_ISCHR(m) || S_ISBLK(m)) return "a device";
    return "not a regular file";
}

// The most specific reason OpenSSL queued, without its numeric prefix noise.
std::string openssl_reason() {
    unsigned long last = 0;
    for (unsigned long e; (e = ERR_get_error()) != 0;) last = e;
    if (last == 0) return "no PEM data found";
    const char* reason = ERR_reason_error_string(last);
    return reason != nullptr ? reason : "unknown OpenSSL error";
}

struct Loaded {
    Fd fd;
    FileId id;
    std::string content;
    mode_t mode = 0;
};

// `what` names the file's role in messages: "certificate", "key", "ca".
Loaded load(const std::string& what, const std::string& path, const char* option) {
    // O_NONBLOCK: opening a FIFO given by mistake must not hang the gateway's start.
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        throw ConfigError(what + " " + path + " cannot be opened: " + std::strerror(errno) + " (check `" + option +
                          "`)");
    }
    Loaded l;
    l.fd = Fd(fd);
    struct stat st{};
    if (::fstat(fd, &st) != 0)
        throw ConfigError(what + " " + path + " cannot be inspected: " + std::strerror(errno));
    if (!S_ISREG(st.st_mode))
        throw ConfigError(what + " " + path + " is " + file_type(st.st_mode) + ", not a regular file (check `" +
                          option + "`)");
    if (static_cast<size_t>(st.st_size) > kMaxFileBytes)
        throw ConfigError(what + " " + path + " is " + std::to_string(st.st_size) +
                          " bytes, too large for a PEM file (check `" + option + "`)");
    l.mode = st.st_mode;
    l.id = FileId{st.st_dev, st.st_ino, st.st_size,
                  static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
    char buf[8192];
    for (;;) {
        ssize_t n = ::pread(fd, buf, sizeof buf, static_cast<off_t>(l.content.size()));
        if (n > 0) {
            l.content.append(buf, static_cast<size_t>(n));
            if (l.content.size() > kMaxFileBytes) throw ConfigError(what + " " + path + " is too large for a PEM file");
        } else if (n == 0) {
            break;
        } else if (errno != EINTR) {
            throw ConfigError(what + " " + path + " cannot be read: " + std::strerror(errno));
        }
    }
    return l;
}

// Every certificate in the file, in order; throws if there is none or one does not parse.
std::vector<X509Ptr> read_certificates(const std::string& what, const std::string& path, const std::string& pem) {
    ERR_clear_error();
    auto bio = common::memory_reader(pem);
    std::vector<X509Ptr> certs;
    for (;;) {
        X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
        if (!x) break;
        certs.push_back(std::move(x));
    }
    const unsigned long err = ERR_peek_last_error();
    // Running out of PEM blocks ends the loop with "no start line": that is the normal end.
    const bool clean_end = ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
    if (certs.empty()) {
        std::string reason = openssl_reason();
        if (clean_end)
            throw ConfigError(what + " " + path + " contains no PEM certificate (\"-----BEGIN CERTIFICATE-----\")");
        throw ConfigError(what + " " + path + " does not parse as a PEM certificate: " + reason);
    }
    if (!clean_end) {
        std::string reason = openssl_reason();
        throw ConfigError(what + " " + path + ": certificate " + std::to_string(certs.size() + 1) +
                          " does not parse: " + reason);
    }
    ERR_clear_error();
    return certs;
}

int no_passphrase(char*, int, int, void*) { return -1; }

PkeyPtr read_key(const std::string& path, const std::string& pem) {
    if (pem.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string::npos ||
        pem.find("Proc-Type: 4,ENCRYPTED") != std::string::npos) {
        throw ConfigError("key " + path +
                          " is encrypted with a passphrase, which the file plugin does not support: store it "
                          "unencrypted with mode 0600 (`openssl pkey -in " +
                          path + " -out NEW.pem`), or keep it in a TPM or secure element with their plugins");
    }
    ERR_clear_error();
    auto bio = common::memory_reader(pem);
    // A passphrase callback that refuses: OpenSSL must never prompt on the terminal.
    PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, &no_passphrase, nullptr));
    if (!key) {
        throw ConfigError("key " + path + " does not contain a PEM private key OpenSSL can read: " + openssl_reason());
    }
    ERR_clear_error();
    return key;
}

}  // namespace

Fd& Fd::operator=(Fd&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = o.release();
    }
    return *this;
}

Fd::~Fd() {
    if (fd_ >= 0) ::close(fd_);
}

int Fd::release() noexcept {
    int fd = fd_;
    fd_ = -1;
    return fd;
}

std::optional<FileId> file_id(const std::string& path) noexcept {
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) return std::nullopt;
    return FileId{st.st_dev, st.st_ino, st.st_size,
                  static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

CheckedFiles check_files(const Paths& paths, int64_t now, DateCheck dates) {
    CheckedFiles out;

    Loaded key = load("key", paths.key, "key");
    if ((key.mode & 077) != 0) {
        const char* how = (key.mode & 044) != 0 ? "readable" : (key.mode & 022) != 0 ? "writable" : "accessible";
        throw ConfigError("key " + paths.key + " is " + how + " by group or others (mode " + mode_text(key.mode) +
                          "): run `chmod 600 " + paths.key + "` (0600 or 0400 are accepted)");
    }
    PkeyPtr pkey = read_key(paths.key, key.content);

    Loaded cert = load("certificate", paths.cert, "cert");
    auto chain = read_certificates("certificate", paths.cert, cert.content);
    X509* leaf = chain.front().get();
    ERR_clear_error();
    if (X509_check_private_key(leaf, pkey.get()) != 1) {
        ERR_clear_error();
        throw ConfigError("certificate " + paths.cert + " does not belong to key " + paths.key +
                          ": the certificate's public key is not the key's (the first certificate in `cert` must "
                          "be the one issued for `key`)");
    }
    out.not_before = common::to_unix(X509_get0_notBefore(leaf));
    out.not_after = common::to_unix(X509_get0_notAfter(leaf));
    if (dates == DateCheck::enforce && now < out.not_before) {
        throw ConfigError("certificate " + paths.cert + " is not valid yet: valid from " +
                          iso8601_utc(out.not_before) + ", now is " + iso8601_utc(now) +
                          " (is the system clock right? set it, e.g. by NTP, before the gateway connects)");
    }
    if (dates == DateCheck::enforce && now > out.not_after) {
        throw ConfigError("certificate " + paths.cert + " expired at " + iso8601_utc(out.not_after) + ", now is " +
                          iso8601_utc(now) +
                          ": renew it (issue a new certificate for the device and replace `cert` and `key`; "
                          "with await_provisioning = true and a fleet_provisioning source the gateway renews "
                          "it itself)");
    }

    if (!paths.ca.empty()) {
        Loaded ca = load("ca", paths.ca, "ca");
        read_certificates("ca", paths.ca, ca.content);
        out.ca = std::move(ca.fd);
        out.ca_id = ca.id;
    }

    out.common_name = common::common_name(leaf);
    out.serial = common::serial_hex(leaf);
    out.certificates = static_cast<int>(chain.size());
    out.cert = std::move(cert.fd);
    out.cert_id = cert.id;
    out.key = std::move(key.fd);
    out.key_id = key.id;
    return out;
}

}  // namespace iotgw::plugins::file
