#include <iotgw/plugins/common/cert_fields.hpp>
#include <iotgw/plugins/common/csr.hpp>
#include <iotgw/plugins/common/durable_file.hpp>
#include <iotgw/plugins/common/openssl_error.hpp>
#include <iotgw/plugins/common/openssl_ptr.hpp>
#include <iotgw/plugins/common/renewal_slots.hpp>
#include <iotgw/plugins/hwkey/hw_credentials.hpp>
#include <iotgw/plugins/hwkey/openssl_provider.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <vector>

namespace iotgw::plugins::hwkey {
namespace {

using common::BioPtr;
using common::openssl_reason;
using common::recover_slots;
using common::remove_file;
using common::SlotPaths;
using common::write_file_atomic;
using common::X509Ptr;
using sdk::ConfigError;
using sdk::Error;

bool exists(const std::string& p) {
    struct stat st {};
    return ::lstat(p.c_str(), &st) == 0 || errno != ENOENT;
}

std::string read_text(const std::string& path, const char* what) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError(std::string(what) + " " + path + " cannot be opened: " + std::strerror(errno));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

using common::iso8601_utc;
using common::no_passphrase;

// Decodes the key reference through the loaded provider (the TPM or token is asked for the key).
PkeyPtr load_key(const std::string& path, const std::string& pem) {
    ERR_clear_error();
    BioPtr bio = common::memory_reader(pem);
    PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, &no_passphrase, nullptr));
    if (!key)
        throw ConfigError("key " + path +
                          " cannot be loaded through its OpenSSL provider: " + openssl_reason());
    return key;
}

// What a consumer of the credentials is handed for a checked key pair.
sdk::Credentials credentials_of(const std::string& cert, const std::string& key, const std::string& ca,
                                int64_t not_after) {
    sdk::Credentials out;
    out.cert_chain_path = cert;
    out.private_key_path = key;
    out.ca_path = ca;
    out.not_after_unix = not_after;
    return out;
}

}  // namespace

HwCredentials::HwCredentials(sdk::Host host, const sdk::Config& cfg, std::unique_ptr<KeyBackend> backend)
    : CredentialsProvider(host),
      paths_{cfg.string("cert"), cfg.string("key"), cfg.optional_string("ca").value_or("")},
      await_provisioning_(cfg.boolean("await_provisioning")),
      backend_(std::move(backend)),
      instance_(host.instance_name()) {
    backend_->prepare();
    if (auto what = recover_slots(SlotPaths(paths_.cert, paths_.key)))
        this->host().notice("credential files: ", *what);
    if (!provisioned()) {
        this->host().warning(not_provisioned());
        return;
    }
    check_pair(paths_.cert, paths_.key);
}

bool HwCredentials::provisioned() const { return exists(paths_.cert) || exists(paths_.key); }

std::string HwCredentials::not_provisioned() const {
    return "neither the certificate " + paths_.cert + " nor the key reference " + paths_.key +
           " exists yet: the device is not provisioned (or `cert`/`key` name the wrong files); the gateway "
           "cannot connect until they exist";
}

HwCredentials::Checked HwCredentials::check_pair(const std::string& cert_path,
                                                 const std::string& key_path) const {
    const std::string key_pem = read_text(key_path, "key");
    backend_->check_key(key_path, key_pem);
    PkeyPtr key = load_key(key_path, key_pem);
    const std::string cert_pem = read_text(cert_path, "certificate");
    ERR_clear_error();
    BioPtr bio = common::memory_reader(cert_pem);
    X509Ptr leaf(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!leaf)
        throw ConfigError("certificate " + cert_path +
                          " does not contain a PEM certificate: " + openssl_reason());
    if (X509_check_private_key(leaf.get(), key.get()) != 1) {
        ERR_clear_error();
        throw ConfigError("certificate " + cert_path + " does not belong to the key " + key_path + " (" +
                          backend_->where() + ")");
    }
    Checked c{common::common_name(leaf.get()), common::serial_hex(leaf.get()),
              common::to_unix(X509_get0_notAfter(leaf.get()))};
    const int64_t now = static_cast<int64_t>(std::time(nullptr));
    if (now > c.not_after)
        throw ConfigError("certificate " + cert_path + " expired at " + iso8601_utc(c.not_after) +
                          ", now is " + iso8601_utc(now) + ": renew it");
    return c;
}

void HwCredentials::start() {
    if (!provisioned()) {
        if (!await_provisioning_) throw Error(not_provisioned());
        host().notice("waiting for provisioning to create ", paths_.cert, " and ", paths_.key,
                      " (await_provisioning = true); the key will be generated in ", backend_->where());
        return;
    }
    const Checked c = check_pair(paths_.cert, paths_.key);
    host().notice("certificate ", c.common_name, " ", c.serial, " valid until ", iso8601_utc(c.not_after),
                  "; its key is in ", backend_->where());
}

sdk::Credentials HwCredentials::credentials() {
    if (!provisioned()) throw Error(not_provisioned());
    return credentials_of(paths_.cert, paths_.key, paths_.ca, check_pair(paths_.cert, paths_.key).not_after);
}

sdk::Credentials HwCredentials::pending_credentials() {
    const SlotPaths s(paths_.cert, paths_.key);
    if (!exists(s.cert_pending) || !exists(s.key_pending))
        throw Error("there is no pending key and certificate (" + s.key_pending + ", " + s.cert_pending + ")",
                    IOTGW_ERR_NOT_FOUND);
    return credentials_of(s.cert_pending, s.key_pending, paths_.ca,
                          check_pair(s.cert_pending, s.key_pending).not_after);
}

std::string HwCredentials::create_pending_key(const std::string& common_name) {
    const SlotPaths s(paths_.cert, paths_.key);
    unsigned char rnd[4];
    if (RAND_bytes(rnd, sizeof rnd) != 1) throw Error("no random bytes: " + openssl_reason());
    char label[96];
    std::snprintf(label, sizeof label, "iotgw-%s-%lld-%02x%02x%02x%02x", instance_.c_str(),
                  static_cast<long long>(std::time(nullptr)), rnd[0], rnd[1], rnd[2], rnd[3]);
    NewKey k = backend_->generate(label);
    // The signature is made in the hardware: the key object only refers to it.
    std::string csr_pem = common::make_csr_pem(k.key.get(), common_name, backend_->where());

    // An older pending certificate belongs to the older pending key: it goes first.
    remove_file(s.cert_pending);
    write_file_atomic(s.key_pending, k.reference_pem, 0600);
    return csr_pem;
}

namespace {

// The key references in the slots (current, pending, previous), by content.
std::vector<std::string> slot_references(const SlotPaths& s) {
    std::vector<std::string> refs;
    for (const std::string* p : {&s.key, &s.key_pending, &s.key_backup}) {
        if (!exists(*p)) continue;
        try {
            refs.push_back(common::read_small_file(*p));
        } catch (const std::exception&) {
            // Unreadable: nothing can be released for it either.
        }
    }
    return refs;
}

}  // namespace

void HwCredentials::release_unreferenced(const std::vector<std::string>& before, const SlotPaths& s) {
    const std::vector<std::string> after = slot_references(s);
    for (const std::string& ref : before) {
        if (std::find(after.begin(), after.end(), ref) != after.end()) continue;
        try {
            const std::string what = backend_->release(ref);
            if (!what.empty()) host().info(what);
        } catch (const std::exception& e) {
            host().warning("cannot free the replaced key in ", backend_->where(), ": ", e.what(),
                           " (it stays on the hardware; nothing refers to it any more)");
        }
    }
}

void HwCredentials::renew(sdk::RenewalOp op, std::string input, RenewalCompletion done) {
    const SlotPaths s(paths_.cert, paths_.key);
    // A step that drops or replaces a key file leaves its hardware key unreferenced: freed after
    // the step is durable (a crash in between leaves only an unused key behind, never a file
    // referring to a deleted key).
    const std::vector<std::string> before = slot_references(s);
    common::run_renewal_op(
        host(), s, op, input, done,
        [&](const std::string& common_name) {
            std::string csr = create_pending_key(common_name);
            host().notice("generated a new key in ", backend_->where(), " (reference ", s.key_pending,
                          ") and signed its CSR there");
            return csr;
        },
        [this](const char* reason) { after_switch(reason); });
    release_unreferenced(before, s);
}

void HwCredentials::after_switch(const char* reason) {
    try {
        const Checked c = check_pair(paths_.cert, paths_.key);
        host().notice("certificate ", c.common_name, " ", c.serial, " valid until ",
                      iso8601_utc(c.not_after));
    } catch (const std::exception& e) {
        host().error("the new credentials cannot be used: ", e.what());
    }
    try {
        host().publish_event("changed", std::string("{\"reason\":\"") + reason + "\"}");
    } catch (const std::exception& e) {
        host().warning("cannot announce the changed credentials: ", e.what());
    }
}

}  // namespace iotgw::plugins::hwkey
