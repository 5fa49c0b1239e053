// Update keys and signatures for the update tests, made with OpenSSL's API the way
// `openssl dgst -sha256 -sign` makes them: ECDSA P-256 over SHA-256, DER, base64.
#pragma once

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <filesystem>
#include <memory>
#include <string>

namespace iotgw::core::update::testkeys {

using PKey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

inline PKey new_key(const char* group = "P-256") {
    return PKey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", group), &EVP_PKEY_free);
}

// The public key as PEM at `path`, mode 0644.
inline void write_public_key(EVP_PKEY* key, const std::filesystem::path& path) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(path.c_str(), "w"), &BIO_free);
    ASSERT_TRUE(bio);
    ASSERT_EQ(PEM_write_bio_PUBKEY(bio.get(), key), 1);
    bio.reset();
    namespace fs = std::filesystem;
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                              fs::perms::others_read);
}

// base64 of the DER signature over `data`.
inline std::string sign(EVP_PKEY* key, const std::string& data) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key);
    size_t len = 0;
    EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()),
                   data.size());
    std::string der(len, '\0');
    EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &len,
                   reinterpret_cast<const unsigned char*>(data.data()), data.size());
    der.resize(len);
    std::string b64(4 * ((der.size() + 2) / 3) + 1, '\0');
    const int n =
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                        reinterpret_cast<const unsigned char*>(der.data()), static_cast<int>(der.size()));
    b64.resize(static_cast<size_t>(n));
    return b64;
}

}  // namespace iotgw::core::update::testkeys
