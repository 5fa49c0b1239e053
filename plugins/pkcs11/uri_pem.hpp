// The "PKCS#11 PROVIDER URI" PEM: the wrapper pkcs11-provider decodes into a key on a token, so a
// program that only knows key FILES (paho: SSL_CTX_use_PrivateKey_file) uses the token's key.
// pkcs11-provider 1.0 decodes it but has no encoder for it, so it is written here. Its DER is
//   SEQUENCE { desc VisibleString "PKCS#11 Provider URI v1.0", uri UTF8String }
// (the layout of pkcs11-provider's tools/uri2pem.py).
#pragma once

#include <optional>
#include <string>

namespace iotgw::plugins::pkcs11 {

inline constexpr const char* kUriPemLabel = "PKCS#11 PROVIDER URI";

std::string uri_pem(const std::string& uri);
// The URI inside such a PEM; nullopt when `pem` is not one.
std::optional<std::string> uri_from_pem(const std::string& pem);

// RFC 7512 percent-encoding of a path attribute value (token and object labels).
std::string pct_encode(const std::string& value);
std::string pct_encode_bytes(const unsigned char* data, size_t n);  // every byte as %xx (ids)
// The decoded value of path attribute `name` ("token", "object") in `uri`; empty when absent.
std::string uri_attribute(const std::string& uri, const std::string& name);

}  // namespace iotgw::plugins::pkcs11
