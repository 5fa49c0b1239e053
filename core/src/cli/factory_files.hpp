// File and certificate helpers of `iotgw factory`: durable writes, the subject CN of a CSR or a
// certificate, and acting as the owner of the claim key's directory. OpenSSL does the parsing.
#pragma once

#include <iotgw/core/durable_file.hpp>

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace iotgw::cli::factory {

// The durable file helpers, shared with the rest of the core.
using core::files::dir_of_path;
using core::files::file_exists;
using core::files::read_file;
using core::files::remove_file_durably;
using core::files::write_file_durably;

// A PKCS#10 request, checked: it parses and its self-signature verifies.
struct CsrInfo {
    std::string pem;          // exactly one PEM block, nothing around it
    std::string common_name;  // "" when the subject has no CN
};
// Throws std::runtime_error naming `what` when `text` holds no valid CSR.
CsrInfo parse_csr(const std::string& text, const std::string& what);

// The first certificate of a PEM chain (the leaf).
struct CertInfo {
    std::string common_name;
    std::string serial_hex;
    std::string der;  // to compare two certificates exactly
    int64_t not_before = 0;
    int64_t not_after = 0;
    std::string chain_pem;  // every certificate of the input, nothing else
};
// Throws std::runtime_error naming `what` when `text` holds no certificate.
CertInfo parse_chain(const std::string& text, const std::string& what);

enum class KeyMatch { same, different, unknown };
// Whether the public key of `csr_pem` is the one of the private key (or key reference) in
// `key_path`. `unknown` when the key cannot be decoded in this process (a hardware reference
// whose OpenSSL provider is not loaded).
KeyMatch csr_matches_key(const std::string& csr_pem, const std::string& key_path);

std::string iso8601_utc(int64_t unix_seconds);

// While alive, file operations run as the owner of `directory` (effective uid and gid), when
// this process runs as root and the directory belongs to another user: the keys and
// certificates the provider writes then belong to the gateway's user, as if it had made them.
class ActAsOwnerOf {
public:
    explicit ActAsOwnerOf(const std::string& directory);
    ~ActAsOwnerOf();
    ActAsOwnerOf(const ActAsOwnerOf&) = delete;
    ActAsOwnerOf& operator=(const ActAsOwnerOf&) = delete;
    // "" when nothing was switched, else e.g. "uid 998, gid 998".
    const std::string& switched_to() const noexcept { return switched_to_; }

private:
    bool switched_ = false;
    std::string switched_to_;
};

}  // namespace iotgw::cli::factory
