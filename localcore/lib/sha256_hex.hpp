// Lowercase hex and SHA-256 digests in that form: certificate ids (SHA-256 of the DER), the names of
// policies created from a provisioning template's PolicyDocument, and the stored hashes of ownership
// tokens all use it, as AWS's ids do.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace localcore {

// Two lowercase hex digits per byte.
std::string lower_hex(const unsigned char* data, std::size_t size);

// The SHA-256 of `data` as 64 lowercase hex digits; throws Error when OpenSSL cannot compute it.
std::string sha256_hex(std::string_view data);

}  // namespace localcore
