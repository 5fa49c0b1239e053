#include <iotgw/plugins/common/openssl_ptr.hpp>
#include <iotgw/plugins/common/pem_der.hpp>

#include <openssl/crypto.h>
#include <openssl/pem.h>

namespace iotgw::plugins::common {

std::optional<PemBlock> read_pem_block(const std::string& pem) {
    BioPtr b(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long len = 0;
    if (!b || PEM_read_bio(b.get(), &name, &header, &data, &len) != 1) return std::nullopt;
    PemBlock block{name, std::string(reinterpret_cast<const char*>(data), static_cast<size_t>(len))};
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    return block;
}

std::string write_pem_block(const std::string& label, const std::string& der) {
    BioPtr b(BIO_new(BIO_s_mem()));
    if (!b || PEM_write_bio(b.get(), label.c_str(), "", reinterpret_cast<const unsigned char*>(der.data()),
                            static_cast<long>(der.size())) <= 0)
        return {};
    return memory_text(b.get());
}

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

std::string tlv(unsigned char tag, const std::string& value) {
    std::string out(1, static_cast<char>(tag));
    const size_t n = value.size();
    if (n < 0x80) {
        out += static_cast<char>(n);
    } else {
        int bytes = n < 0x100 ? 1 : n < 0x10000 ? 2 : 3;
        out += static_cast<char>(0x80 | bytes);
        while (bytes-- > 0) out += static_cast<char>((n >> (8 * bytes)) & 0xff);
    }
    return out + value;
}

}  // namespace iotgw::plugins::common
