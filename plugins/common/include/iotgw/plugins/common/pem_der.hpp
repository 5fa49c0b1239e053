// The little DER and PEM handling the hardware-key plugins need for their key reference files
// (the TSS2 key PEM, the PKCS#11 provider URI PEM) and their tests: one PEM block in and out, and
// DER tag-length-value items with definite lengths below 16 MiB. Not a general ASN.1 parser: the
// callers check the tags they expect.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace iotgw::plugins::common {

struct PemBlock {
    std::string label;  // "TSS2 PRIVATE KEY" for -----BEGIN TSS2 PRIVATE KEY-----
    std::string der;    // the decoded body
};

// The first PEM block of `pem`; nullopt when there is none or it does not decode.
std::optional<PemBlock> read_pem_block(const std::string& pem);

// `der` armoured as a PEM block with `label`; empty when OpenSSL cannot allocate.
std::string write_pem_block(const std::string& label, const std::string& der);

// Reads the TLV at `pos` of `der` and moves `pos` past it; false when it does not fit in `der`.
bool read_tlv(const std::string& der, size_t& pos, unsigned char& tag, std::string& value);

// One TLV with the shortest definite length encoding (values below 16 MiB).
std::string tlv(unsigned char tag, const std::string& value);

}  // namespace iotgw::plugins::common
