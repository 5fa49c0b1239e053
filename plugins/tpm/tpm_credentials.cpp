// `tpm`: the device key is created inside a TPM 2.0 under a persistent primary key and never
// leaves it (fixedTPM, fixedParent, sensitiveDataOrigin). CSRs and TLS handshakes are signed by
// the TPM through the tpm2-openssl provider (>= 1.2: older ones fail TLS), which this plugin loads
// into the gateway's own OpenSSL configuration. On disk is a TSS2 PEM whose private part only this
// TPM can use. Renewal slots and their crash safety are the `file` plugin's.
#include "schema.hpp"
#include "tpm_device.hpp"
#include "tss2_key_pem.hpp"

#include <iotgw/plugins/common/openssl_error.hpp>
#include <iotgw/plugins/hwkey/hw_credentials.hpp>
#include <iotgw/plugins/hwkey/openssl_provider.hpp>

#include <openssl/core_names.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <tss2/tss2_tpm2_types.h>

#include <cstdio>
#include <cstdlib>

namespace iotgw::plugins::tpm {
namespace {

using hwkey::NewKey;
using common::openssl_reason;
using sdk::ConfigError;
using sdk::Error;

// The attributes that make a key non-exportable and born in the TPM.
constexpr uint32_t kRequired =
    TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN;
constexpr const char* kMinProvider = "1.2.0";

std::string hex(uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08x", v);
    return buf;
}

uint32_t parse_handle(const std::string& text) {
    char* end = nullptr;
    const unsigned long v = std::strtoul(text.c_str(), &end, 0);
    if (text.empty() || end == nullptr || *end != '\0' || v < 0x81000000ul || v > 0x81ffffff)
        throw ConfigError(
            "`parent = \"" + text +
            "\"` is not a persistent TPM handle (0x81000000 to 0x81FFFFFF, e.g. \"0x81000001\")");
    return static_cast<uint32_t>(v);
}

class TpmBackend final : public hwkey::KeyBackend {
public:
    explicit TpmBackend(const sdk::Config& cfg)
        : tcti_(cfg.string("tcti")),
          parent_(parse_handle(cfg.string("parent"))),
          key_type_(cfg.string("key_type")),
          provider_(cfg.optional_string("provider").value_or("")) {}

    void prepare() override {
        hwkey::ProviderSetup s;
        s.name = "tpm2";
        s.module_path = provider_;
        // tpm2-openssl 1.3 reads its TCTI only from the environment (a `tcti` setting in its config
        // section is ignored, measured). Set while the gateway starts, before paho's threads exist.
        s.identity = "TPM2OPENSSL_TCTI=" + tcti_;
        s.min_version = kMinProvider;
        s.package = "tpm2-openssl (>= 1.2: Debian 13)";
        // The TPM is checked on its own connection before the provider opens its one (swtpm and a
        // TPM without resource manager serve one connection at a time); once the provider is
        // loaded in this process, it owns the TPM and is not checked again.
        if (!hwkey::provider_loaded(s)) {
            check_tpm(tcti_, parent_);
            ::setenv("TPM2OPENSSL_TCTI", tcti_.c_str(), 1);
        }
        hwkey::ensure_provider(s);
    }

    NewKey generate(const std::string& /*label: a TPM keeps no names*/) override {
        const bool ec = key_type_ == "ec-p256";
        ERR_clear_error();
        std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
            EVP_PKEY_CTX_new_from_name(nullptr, ec ? "EC" : "RSA", "provider=tpm2"), &EVP_PKEY_CTX_free);
        if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0)
            throw Error("the tpm2 provider cannot generate " + key_type_ + " keys: " + openssl_reason());
        char group[] = "P-256";
        unsigned int parent = parent_;
        size_t bits = 2048;
        OSSL_PARAM params[] = {OSSL_PARAM_construct_uint("parent", &parent),
                               ec ? OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0)
                                  : OSSL_PARAM_construct_size_t(OSSL_PKEY_PARAM_RSA_BITS, &bits),
                               OSSL_PARAM_construct_end()};
        if (EVP_PKEY_CTX_set_params(ctx.get(), params) <= 0)
            throw Error("the tpm2 provider refuses the key parameters: " + openssl_reason());
        EVP_PKEY* raw = nullptr;
        if (EVP_PKEY_generate(ctx.get(), &raw) <= 0)
            throw Error("cannot create a " + key_type_ + " key in the TPM under " + hex(parent_) + ": " +
                        openssl_reason());
        NewKey k;
        k.key.reset(raw);
        // The provider's encoder writes the TSS2 PEM (public part + TPM-encrypted private part).
        std::unique_ptr<OSSL_ENCODER_CTX, decltype(&OSSL_ENCODER_CTX_free)> enc(
            OSSL_ENCODER_CTX_new_for_pkey(raw, EVP_PKEY_KEYPAIR, "PEM", nullptr, "provider=tpm2"),
            &OSSL_ENCODER_CTX_free);
        unsigned char* data = nullptr;
        size_t len = 0;
        if (!enc || OSSL_ENCODER_CTX_get_num_encoders(enc.get()) == 0 ||
            OSSL_ENCODER_to_data(enc.get(), &data, &len) != 1)
            throw Error("cannot encode the TPM key as a TSS2 PEM: " + openssl_reason());
        k.reference_pem.assign(reinterpret_cast<const char*>(data), len);
        OPENSSL_free(data);
        std::string why;
        if (!parse_tss2_key(k.reference_pem, why))
            throw Error("the tpm2 provider wrote a key file that is not a TSS2 key: " + why);
        return k;
    }

    void check_key(const std::string& key_path, const std::string& pem) override {
        std::string why;
        auto key = parse_tss2_key(pem, why);
        if (!key) {
            if (pem.find("PRIVATE KEY-----") != std::string::npos && pem.find("TSS2") == std::string::npos)
                throw ConfigError(
                    "key " + key_path +
                    " is a private key in a file, not a TPM key: the tpm plugin only uses keys that "
                    "never leave the TPM (use the `file` plugin for file keys, or let provisioning "
                    "create the key in the TPM)");
            throw ConfigError("key " + key_path + " is not a TPM key: " + why);
        }
        if ((key->object_attributes & kRequired) != kRequired)
            throw ConfigError(
                "key " + key_path + " could leave the TPM or was not generated in it (attributes " +
                attribute_names(key->object_attributes) +
                "; fixedTPM|fixedParent|sensitiveDataOrigin are required): generate it in the TPM");
        if (key->parent != parent_)
            throw ConfigError("key " + key_path + " was created under TPM handle " + hex(key->parent) +
                              ", but `parent` is " + hex(parent_));
    }

    std::string where() const override { return "the TPM under " + hex(parent_) + " (" + tcti_ + ")"; }

private:
    std::string tcti_;
    uint32_t parent_;
    std::string key_type_, provider_;
};

class TpmCredentials final : public hwkey::HwCredentials {
public:
    TpmCredentials(sdk::Host host, const sdk::Config& cfg)
        : HwCredentials(host, cfg, std::make_unique<TpmBackend>(cfg)) {}
};

}  // namespace
}  // namespace iotgw::plugins::tpm

IOTGW_DECLARE_PLUGIN(
    iotgw::plugins::tpm::TpmCredentials,
    {.abi_major = 1,
     .abi_minor = 1,
     .name = "tpm",
     .version = "1.0.0",
     .description = "Certificate in a file, private key created and kept inside a TPM 2.0, used "
                    "through the tpm2-openssl provider.",
     .fields = iotgw::plugins::tpm::kFields})
