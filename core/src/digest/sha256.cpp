#include <iotgw/core/sha256.hpp>

#include <openssl/evp.h>

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace iotgw::core {

Sha256::Sha256() : ctx_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("SHA-256 is not available in OpenSSL");
}

Sha256::~Sha256() = default;

void Sha256::update(const void* data, size_t size) {
    if (EVP_DigestUpdate(ctx_.get(), data, size) != 1) throw std::runtime_error("SHA-256 failed in OpenSSL");
}

std::string Sha256::hex() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), md.data(), &len) != 1)
        throw std::runtime_error("SHA-256 failed in OpenSSL");
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * len);
    for (unsigned int i = 0; i < len; ++i) {
        out.push_back(kHex[md[i] >> 4]);
        out.push_back(kHex[md[i] & 0xf]);
    }
    return out;
}

std::string sha256_hex(std::string_view data) {
    Sha256 h;
    h.update(data.data(), data.size());
    return h.hex();
}

void read_file_chunks(const std::string& path,
                      const std::function<void(const unsigned char*, size_t)>& chunk) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) throw std::runtime_error("cannot read " + path + ": " + std::strerror(errno));
    std::array<unsigned char, 65536> buf{};
    try {
        for (;;) {
            const ssize_t r = ::read(fd, buf.data(), buf.size());
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) throw std::runtime_error("cannot read " + path + ": " + std::strerror(errno));
            if (r == 0) break;
            chunk(buf.data(), static_cast<size_t>(r));
        }
    } catch (...) {
        ::close(fd);
        throw;
    }
    ::close(fd);
}

std::string sha256_file_hex(const std::string& path) {
    Sha256 h;
    read_file_chunks(path, [&](const unsigned char* data, size_t n) { h.update(data, n); });
    return h.hex();
}

}  // namespace iotgw::core
