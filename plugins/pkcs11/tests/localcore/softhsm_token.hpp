// A SoftHSM2 token for the pkcs11 plugin's tests: its own SOFTHSM2_CONF and token directory in a
// scratch directory, a token initialised with softhsm2-util, and a PIN file of mode 0600. One per
// test process: pkcs11-provider, once loaded into the process's OpenSSL, keeps its module and PIN
// file until exit, so every test in the process shares them.
#pragma once

#include <filesystem>
#include <string>

namespace iotgw::test::pkcs11 {

struct SoftHsm {
    std::filesystem::path dir, conf, pin_file;
    std::string module, token = "iotgw-test", pin = "24681357";
};

// The process's token (created on first use); throws std::runtime_error when SoftHSM2 or
// pkcs11-provider is not installed, with what to install.
const SoftHsm& softhsm();

// The private key object `label`'s attributes as pkcs11-tool (opensc) reads them from the token,
// e.g. "sensitive, always sensitive, never extractable, local"; "" when there is no such object.
std::string private_key_access(const std::string& label);
// Tries to read the private key's value off the token (pkcs11-tool --read-object); returns its
// output, which says why it failed.
std::string read_private_key_value(const std::string& label, bool* succeeded);
// pkcs11-tool's listing of every object of `type` ("privkey", "pubkey") on the token.
std::string list_objects(const std::string& type = "privkey");

}  // namespace iotgw::test::pkcs11
