// A credentials provider whose private key lives in hardware (a TPM or a PKCS#11 token) and is
// reached through an OpenSSL provider. What is on disk is only a reference to the key (a TSS2 PEM,
// whose private part is encrypted by the TPM, or a PKCS#11 URI PEM) and the certificates; both are
// kept in the same slots as the `file` plugin's (`<key>.pending`, `<key>.previous`, ...) with the
// same crash-safe steps, so provisioning and rotation work unchanged. The key is generated inside
// the hardware and the CSR is signed there.
#pragma once

#include <iotgw/plugins/common/openssl_ptr.hpp>
#include <iotgw/plugins/common/renewal_slots.hpp>

#include <iotgw/sdk.hpp>

#include <openssl/evp.h>

#include <memory>
#include <string>
#include <vector>

namespace iotgw::plugins::hwkey {

using PkeyPtr = common::PkeyPtr;

// A key just generated in the hardware: usable for signing the CSR, and the PEM that refers to it.
struct NewKey {
    PkeyPtr key;
    std::string reference_pem;
};

class KeyBackend {
public:
    virtual ~KeyBackend() = default;
    // Loads the OpenSSL provider and checks the hardware is reachable; throws sdk::ConfigError.
    virtual void prepare() = 0;
    // A new key in the hardware; `label` names it where the hardware keeps names.
    virtual NewKey generate(const std::string& label) = 0;
    // Refuses a key (by its reference file) that is not protected by the hardware as required.
    virtual void check_key(const std::string& key_path, const std::string& reference_pem) = 0;
    // For log lines: "TPM key under 0x81000001 (swtpm:...)", "PKCS#11 token 'x' (module)".
    virtual std::string where() const = 0;
    // Frees what the hardware keeps for a key no file refers to any more; returns a sentence for
    // the log, or "" when there was nothing to free (a TPM key lives only in its file). Throws
    // sdk::Error.
    virtual std::string release(const std::string& reference_pem) {
        (void)reference_pem;
        return "";
    }
};

struct HwPaths {
    std::string cert, key, ca;
};

class HwCredentials : public sdk::CredentialsProvider {
public:
    static constexpr bool supports_renewal = true;

    HwCredentials(sdk::Host host, const sdk::Config& cfg, std::unique_ptr<KeyBackend> backend);

    void start() override;
    void stop() noexcept override {}
    sdk::Credentials credentials() override;
    void renew(sdk::RenewalOp op, std::string input, RenewalCompletion done) override;
    sdk::Credentials pending_credentials() override;

private:
    struct Checked {
        std::string common_name, serial;
        int64_t not_after = 0;
    };
    Checked check_pair(const std::string& cert, const std::string& key) const;
    std::string create_pending_key(const std::string& common_name);
    void after_switch(const char* reason);
    void release_unreferenced(const std::vector<std::string>& before, const common::SlotPaths& s);
    bool provisioned() const;
    std::string not_provisioned() const;

    HwPaths paths_;
    bool await_provisioning_;
    std::unique_ptr<KeyBackend> backend_;
    std::string instance_;
};

}  // namespace iotgw::plugins::hwkey
