// `pkcs11`: the device key lives on a PKCS#11 token (a secure element such as an ATECC608 through
// its vendor module in the field, SoftHSM2 in tests). The key is generated ON the token as a
// sensitive, never-extractable object (pkcs11-provider's key generation), the CSR is signed there,
// and TLS signs there through pkcs11-provider, which this plugin loads into the gateway's own
// OpenSSL configuration with the module, token and PIN file of the config. Only a URI PEM naming
// the key is on disk. Renewal slots and their crash safety are the `file` plugin's.
#include "schema.hpp"
#include "token_objects.hpp"
#include "uri_pem.hpp"

#include <iotgw/plugins/common/openssl_error.hpp>
#include <iotgw/plugins/hwkey/hw_credentials.hpp>
#include <iotgw/plugins/hwkey/openssl_provider.hpp>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace iotgw::plugins::pkcs11 {
namespace {

using hwkey::NewKey;
using common::openssl_reason;
using sdk::ConfigError;
using sdk::Error;

std::string pin_path(const sdk::Config& cfg) {
    auto file = cfg.optional_string("pin_file");
    auto cred = cfg.optional_string("pin_credential");
    if (file && cred) throw ConfigError("set either `pin_file` or `pin_credential`, not both");
    if (file) return *file;
    if (cred) {
        const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
        if (dir == nullptr || *dir == '\0')
            throw ConfigError(
                "`pin_credential = \"" + *cred +
                "\"` needs $CREDENTIALS_DIRECTORY, which systemd sets only for a unit with "
                "LoadCredential= or SetCredentialEncrypted= (run the gateway from its unit, or use "
                "`pin_file`)");
        return std::string(dir) + "/" + *cred;
    }
    throw ConfigError(
        "the token's PIN is not configured: set `pin_file` (mode 0600, owned by the gateway's user) or "
        "`pin_credential` (a systemd credential)");
}

// The PIN must be readable only by the user the gateway runs as.
void check_pin_file(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        throw ConfigError("PIN file " + path + " cannot be read: " + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) throw ConfigError("PIN file " + path + " is not a regular file");
    if ((st.st_mode & 077) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        throw ConfigError("PIN file " + path + " is accessible by group or others (mode " + mode +
                          "): run `chmod 600 " + path + "`");
    }
    if (st.st_uid != ::geteuid())
        throw ConfigError("PIN file " + path + " belongs to uid " + std::to_string(st.st_uid) +
                          ", not to the user the gateway runs as (uid " + std::to_string(::geteuid()) + ")");
    if (::access(path.c_str(), R_OK) != 0)
        throw ConfigError("PIN file " + path + " cannot be read: " + std::strerror(errno));
}

class TokenBackend final : public hwkey::KeyBackend {
public:
    explicit TokenBackend(const sdk::Config& cfg)
        : module_(cfg.string("module")),
          token_(cfg.string("token")),
          pin_(pin_path(cfg)),
          key_type_(cfg.string("key_type")),
          quirks_(cfg.string("quirks")),
          provider_(cfg.optional_string("provider").value_or("")) {}

    void prepare() override {
        if (::access(module_.c_str(), R_OK) != 0)
            throw ConfigError("PKCS#11 module " + module_ + " cannot be read: " + std::strerror(errno) +
                              " (check `module`)");
        check_pin_file(pin_);
        hwkey::ProviderSetup s;
        s.name = "pkcs11";
        s.module_path = provider_;
        s.params = {{"pkcs11-module-path", module_}, {"pkcs11-module-token-pin", "file:" + pin_}};
        if (!quirks_.empty()) s.params.emplace_back("pkcs11-module-quirks", quirks_);
        s.package = "pkcs11-provider (>= 1.0; on Debian 12 from bookworm-backports)";
        hwkey::ensure_provider(s);
    }

    NewKey generate(const std::string& label) override {
        unsigned char id[8];
        if (RAND_bytes(id, sizeof id) != 1) throw Error("no random bytes: " + openssl_reason());
        const std::string uri = "pkcs11:token=" + pct_encode(token_) + ";object=" + pct_encode(label) +
                                ";id=" + pct_encode_bytes(id, sizeof id);
        const bool ec = key_type_ == "ec-p256";
        ERR_clear_error();
        std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
            EVP_PKEY_CTX_new_from_name(nullptr, ec ? "EC" : "RSA", "provider=pkcs11"), &EVP_PKEY_CTX_free);
        if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0)
            throw Error("pkcs11-provider cannot generate " + key_type_ + " keys: " + openssl_reason());
        std::string uri_copy = uri;
        char group[] = "P-256";
        size_t bits = 2048;
        OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("pkcs11_uri", uri_copy.data(), 0),
                               ec ? OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0)
                                  : OSSL_PARAM_construct_size_t(OSSL_PKEY_PARAM_RSA_BITS, &bits),
                               OSSL_PARAM_construct_end()};
        if (EVP_PKEY_CTX_set_params(ctx.get(), params) <= 0)
            throw Error("pkcs11-provider refuses the key parameters " + uri + ": " + openssl_reason());
        EVP_PKEY* raw = nullptr;
        // pkcs11-provider makes private keys CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE and not
        // CKA_EXTRACTABLE (checked by the tests through the token's attributes).
        if (EVP_PKEY_generate(ctx.get(), &raw) <= 0)
            throw Error("cannot generate a " + key_type_ + " key on token '" + token_ + "' (module " +
                        module_ + "): " + openssl_reason() + " (is the token there, and the PIN in " + pin_ +
                        " right?)");
        NewKey k;
        k.key.reset(raw);
        k.reference_pem = uri_pem(uri + ";type=private");
        if (k.reference_pem.empty()) throw Error("cannot encode the key's URI PEM");
        return k;
    }

    void check_key(const std::string& key_path, const std::string& pem) override {
        auto uri = uri_from_pem(pem);
        if (!uri) {
            if (pem.find("PRIVATE KEY-----") != std::string::npos)
                throw ConfigError(
                    "key " + key_path +
                    " is a private key in a file, not a reference to a key on the token: the pkcs11 "
                    "plugin only uses keys that never leave the token (use the `file` plugin for "
                    "file keys, or let provisioning generate the key on the token)");
            throw ConfigError("key " + key_path + " is not a \"" + kUriPemLabel + "\" PEM");
        }
        const std::string token = uri_attribute(*uri, "token");
        if (token != token_)
            throw ConfigError("key " + key_path + " refers to token '" + token + "' (" + *uri +
                              "), but `token` is '" + token_ + "'");
    }

    std::string where() const override { return "PKCS#11 token '" + token_ + "' (" + module_ + ")"; }

    // The private and public key objects of a generated pair share its label and id.
    std::string release(const std::string& reference_pem) override {
        const auto uri = uri_from_pem(reference_pem);
        if (!uri || uri_attribute(*uri, "token") != token_) return "";
        const std::string label = uri_attribute(*uri, "object");
        const std::string id = uri_attribute(*uri, "id");
        if (label.empty() || id.empty()) return "";
        const int n = destroy_key_objects({module_, token_, pin_}, label, id);
        if (n == 0) return "";
        return "deleted the replaced key '" + label + "' (" + std::to_string(n) + " objects) from " + where();
    }

private:
    std::string module_, token_, pin_, key_type_, quirks_, provider_;
};

class Pkcs11Credentials final : public hwkey::HwCredentials {
public:
    Pkcs11Credentials(sdk::Host host, const sdk::Config& cfg)
        : HwCredentials(host, cfg, std::make_unique<TokenBackend>(cfg)) {}
};

}  // namespace
}  // namespace iotgw::plugins::pkcs11

IOTGW_DECLARE_PLUGIN(
    iotgw::plugins::pkcs11::Pkcs11Credentials,
    {.abi_major = 1,
     .abi_minor = 1,
     .name = "pkcs11",
     .version = "1.0.0",
     .description = "Certificate in a file, private key generated and kept on a PKCS#11 token "
                    "(secure element), used through pkcs11-provider.",
     .fields = iotgw::plugins::pkcs11::kFields})
