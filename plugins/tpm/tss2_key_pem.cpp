#include "tss2_key_pem.hpp"

#include <openssl/bio.h>
#include <openssl/pem.h>

#include <tss2/tss2_mu.h>

#include <memory>
#include <utility>

namespace iotgw::plugins::tpm {
namespace {

struct BioFree {
    void operator()(BIO* b) const noexcept { BIO_free(b); }
};

bool read_tlv(const std::string& der, size_t& pos, unsigned char& tag, std::string& value) {
    if (pos + 2 > der.size()) return false;
    tag = static_cast<unsigned char>(der[pos++]);
    size_t n = static_cast<unsigned char>(der[pos++]);
    if (n & 0x80) {
        const size_t bytes = n & 0x7f;
        if (bytes == 0 || bytes > 3 || pos + bytes > der.size()) return false;
        n = 0;
        for (size_t i = 0; i < bytes; ++i) n = (n << 8) | static_cast<unsigned char>(der[pos++]);
    }
    if (pos + n > der.size()) return false;
    value = der.substr(pos, n);
    pos += n;
    return true;
}

}  // namespace

std::optional<Tss2Key> parse_tss2_key(const std::string& pem, std::string& why) {
    std::unique_ptr<BIO, BioFree> b(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long len = 0;
    if (!b || PEM_read_bio(b.get(), &name, &header, &data, &len) != 1) {
        why = "it is not a PEM file";
        return std::nullopt;
    }
    const std::string label = name;
    const std::string der(reinterpret_cast<const char*>(data), static_cast<size_t>(len));
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    if (label != "TSS2 PRIVATE KEY") {
        why = "it is a \"" + label + "\" PEM, not a \"TSS2 PRIVATE KEY\"";
        return std::nullopt;
    }
    why = "its TSS2 key structure does not parse";
    size_t pos = 0;
    unsigned char tag = 0;
    std::string seq, field;
    if (!read_tlv(der, pos, tag, seq) || tag != 0x30) return std::nullopt;
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
