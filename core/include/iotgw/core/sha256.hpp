// SHA-256 as the gateway uses it to pin what it runs or installs: a configuration's text, a
// downloaded file, a package. Lower-case hex, streaming or at once, from OpenSSL. A library of
// its own (iotgw::digest, OpenSSL only) so the core, the HTTPS download and the update check
// share one implementation without pulling in each other.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace iotgw::core {

class Sha256 {
public:
    Sha256();  // throws std::runtime_error when OpenSSL has no SHA-256
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    void update(const void* data, size_t size);
    std::string hex();  // ends the digest: lower-case hex

private:
    std::unique_ptr<evp_md_ctx_st, void (*)(evp_md_ctx_st*)> ctx_;
};

std::string sha256_hex(std::string_view data);

// Calls `chunk` with each piece of the file's bytes, in order (the file is opened without
// following a symbolic link). Throws std::runtime_error naming the file when it cannot be read.
void read_file_chunks(const std::string& path,
                      const std::function<void(const unsigned char*, size_t)>& chunk);

std::string sha256_file_hex(const std::string& path);

}  // namespace iotgw::core
