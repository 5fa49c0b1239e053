// The check every gateway update passes twice: in the service, before the package is handed on,
// and again in the root helper that installs it (so a file swapped in between is refused).
// A package is taken only when it has the size and SHA-256 the job document names and a
// detached signature over its bytes by one of the site's trusted update keys: ECDSA P-256 with
// SHA-256, DER-encoded and base64 in the document, as `openssl dgst -sha256 -sign` and AWS KMS
// (ECC_NIST_P256, ECDSA_SHA_256) make it.
//
// The trusted keys are PEM public keys (*.pem) in one directory (/etc/iotgw/update-keys). Like
// sshd's StrictModes, the directory and each key must not be writable by group or others, or
// whoever could write them could sign updates; a key that breaks that rule, or is not a P-256
// public key, is refused with the reason and never trusted.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace iotgw::core::update {

class VerifyError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct PackageClaim {
    uint64_t size = 0;
    std::string sha256;     // 64 hex digits, either case
    std::string signature;  // base64 of the DER ECDSA signature
};

struct TrustedKeys {
    std::vector<std::string> files;     // the keys taken, by path
    std::vector<std::string> problems;  // "<path>: why it is not trusted"
};

// The P-256 public keys in `dir`, and a sentence for each file that is not taken. Throws
// VerifyError when the directory cannot be read or is writable by group or others.
TrustedKeys load_trusted_keys(const std::string& dir);

// Checks `path` against `claim` and the keys of `keys_dir`; returns the key file that verified
// the signature. Throws VerifyError with a sentence naming what did not match.
std::string verify_package(const std::string& path, const PackageClaim& claim, const std::string& keys_dir);

}  // namespace iotgw::core::update
