#include "tss2_key_pem.hpp"

#include <iotgw/plugins/common/pem_der.hpp>

#include <tss2/tss2_mu.h>

#include <utility>

namespace iotgw::plugins::tpm {

std::optional<Tss2Key> parse_tss2_key(const std::string& pem, std::string& why) {
    using common::read_tlv;
    const auto block = common::read_pem_block(pem);
    if (!block) {
        why = "it is not a PEM file";
        return std::nullopt;
    }
    if (block->label != "TSS2 PRIVATE KEY") {
        why = "it is a \"" + block->label + "\" PEM, not a \"TSS2 PRIVATE KEY\"";
        return std::nullopt;
    }
    const std::string& body = block->der;
    why = "its TSS2 key structure does not parse";
    size_t pos = 0;
    unsigned char tag = 0;
    std::string seq, field;
    if (!read_tlv(body, pos, tag, seq) || tag != 0x30) return std::nullopt;
    pos = 0;
    if (!read_tlv(seq, pos, tag, field) || tag != 0x06) return std::nullopt;  // type OID
    if (!read_tlv(seq, pos, tag, field)) return std::nullopt;
    if (tag == 0xa0 && !read_tlv(seq, pos, tag, field)) return std::nullopt;  // emptyAuth, then parent
    if (tag != 0x02 || field.empty() || field.size() > 5) return std::nullopt;
    Tss2Key k;
    for (unsigned char c : field) k.parent = (k.parent << 8) | c;
    if (!read_tlv(seq, pos, tag, k.public_blob) || tag != 0x04) return std::nullopt;
    if (!read_tlv(seq, pos, tag, k.private_blob) || tag != 0x04) return std::nullopt;
    TPM2B_PUBLIC pub{};
    size_t offset = 0;
    if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(reinterpret_cast<const uint8_t*>(k.public_blob.data()),
                                       k.public_blob.size(), &offset, &pub) != TSS2_RC_SUCCESS) {
        why = "its public part (TPM2B_PUBLIC) does not parse";
        return std::nullopt;
    }
    k.object_attributes = pub.publicArea.objectAttributes;
    k.type = pub.publicArea.type;
    why.clear();
    return k;
}

std::string attribute_names(uint32_t a) {
    static const std::pair<uint32_t, const char*> names[] = {
        {TPMA_OBJECT_FIXEDTPM, "fixedTPM"},
        {TPMA_OBJECT_STCLEAR, "stClear"},
        {TPMA_OBJECT_FIXEDPARENT, "fixedParent"},
        {TPMA_OBJECT_SENSITIVEDATAORIGIN, "sensitiveDataOrigin"},
        {TPMA_OBJECT_USERWITHAUTH, "userWithAuth"},
        {TPMA_OBJECT_ADMINWITHPOLICY, "adminWithPolicy"},
        {TPMA_OBJECT_NODA, "noDA"},
        {TPMA_OBJECT_RESTRICTED, "restricted"},
        {TPMA_OBJECT_DECRYPT, "decrypt"},
        {TPMA_OBJECT_SIGN_ENCRYPT, "sign"},
    };
    std::string out;
    for (const auto& [bit, n] : names)
        if ((a & bit) != 0) out += (out.empty() ? "" : "|") + std::string(n);
    return out.empty() ? "(none)" : out;
}

}  // namespace iotgw::plugins::tpm
