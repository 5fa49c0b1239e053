// The "TSS2 PRIVATE KEY" PEM (the format of tpm2-openssl and the TPM 2.0 key files draft):
//   TPMKey ::= SEQUENCE { type OID, emptyAuth [0] EXPLICIT BOOLEAN OPTIONAL, parent INTEGER,
//                         pubkey OCTET STRING (TPM2B_PUBLIC), privkey OCTET STRING (TPM2B_PRIVATE) }
// The private part is encrypted by the parent key inside the TPM: the file is useless without
// that TPM. Parsed here so the plugin can refuse a key the TPM would let go (duplicable,
// imported) before using it, without a TPM round trip.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace iotgw::plugins::tpm {

struct Tss2Key {
    uint32_t parent = 0;
    std::string public_blob;   // TPM2B_PUBLIC as marshalled (size first)
    std::string private_blob;  // TPM2B_PRIVATE
    uint32_t object_attributes = 0;
    uint16_t type = 0;  // TPM2_ALG_ECC, TPM2_ALG_RSA
};

// nullopt with `why` set when `pem` is not a TSS2 key PEM or does not parse.
std::optional<Tss2Key> parse_tss2_key(const std::string& pem, std::string& why);

// "fixedTPM|fixedParent|sensitiveDataOrigin|..." for messages and tests.
std::string attribute_names(uint32_t attributes);

}  // namespace iotgw::plugins::tpm
