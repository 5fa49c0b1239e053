#include "sha256_hex.hpp"

#include <array>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "atomic_file.hpp"

namespace localcore {

std::string lower_hex(const unsigned char* data, std::size_t size) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(size * 2);
    for (std::size_t i = 0; i < size; ++i) {
        out.push_back(kDigits[data[i] >> 4]);
        out.push_back(kDigits[data[i] & 0x0f]);
    }
    return out;
}

std::string sha256_hex(std::string_view data) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr) != 1) {
        ERR_clear_error();
        throw Error("cannot compute a SHA-256 digest; check the OpenSSL installation");
    }
    return lower_hex(md.data(), len);
}

}  // namespace localcore
