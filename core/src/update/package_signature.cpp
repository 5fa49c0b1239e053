#include <iotgw/core/package_signature.hpp>
#include <iotgw/core/sha256.hpp>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

namespace iotgw::core::update {
namespace {

namespace fs = std::filesystem;

using PKey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

std::string mode_text(mode_t mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
    return buf;
}

// Not writable by group or others (the owner is root on a device; the tests run as anyone).
std::string writable_by_others(const std::string& path, const struct stat& st) {
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) == 0) return {};
    return path + " is writable by group or others (mode " + mode_text(st.st_mode) + "); chmod go-w " + path;
}

std::string to_lower_hex(std::string_view text) {
    std::string out;
    for (const char c : text) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    return out;
}

// OpenSSL's base64 decoder (a BIO, which handles padding and line breaks); empty on malformed.
std::string base64_decode(std::string_view text) {
    std::string in(text);
    in.erase(std::remove_if(in.begin(), in.end(), [](unsigned char c) { return std::isspace(c) != 0; }),
             in.end());
    if (in.empty() || in.size() % 4 != 0) return {};
    std::unique_ptr<BIO, decltype(&BIO_free_all)> chain(BIO_new(BIO_f_base64()), &BIO_free_all);
    BIO* mem = BIO_new_mem_buf(in.data(), static_cast<int>(in.size()));
    if (!chain || mem == nullptr) {
        BIO_free(mem);
        return {};
    }
    BIO_set_flags(chain.get(), BIO_FLAGS_BASE64_NO_NL);
    BIO_push(chain.get(), mem);
    std::string out(in.size(), '\0');
    const int n = BIO_read(chain.get(), out.data(), static_cast<int>(out.size()));
    if (n <= 0) return {};
    out.resize(static_cast<size_t>(n));
    return out;
}

PKey read_p256_public_key(const std::string& path, std::string& why) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(path.c_str(), "r"), &BIO_free);
    if (!bio) {
        why = "cannot be read";
        return PKey(nullptr, &EVP_PKEY_free);
    }
    PKey key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
    if (!key) {
        why = "is not a PEM public key (-----BEGIN PUBLIC KEY-----)";
        return key;
    }
    char group[64] = {};
    size_t len = 0;
    // The curve by its NID: OpenSSL names it "prime256v1", NIST "P-256".
    int nid = NID_undef;
    if (EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_EC &&
        EVP_PKEY_get_utf8_string_param(key.get(), "group", group, sizeof group, &len) == 1) {
        nid = OBJ_sn2nid(group);
        if (nid == NID_undef) nid = EC_curve_nist2nid(group);
    }
    if (nid != NID_X9_62_prime256v1) {
        why = "is not an ECDSA P-256 key";
        return PKey(nullptr, &EVP_PKEY_free);
    }
    return key;
}

bool verifies(EVP_PKEY* key, const std::string& path, const std::string& der) {
    MdCtx ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1) return false;
    bool ok = true;
    try {
        core::read_file_chunks(path, [&](const unsigned char* data, size_t n) {
            ok = ok && EVP_DigestVerifyUpdate(ctx.get(), data, n) == 1;
        });
    } catch (const std::runtime_error& e) {
        throw VerifyError(e.what());
    }
    return ok && EVP_DigestVerifyFinal(ctx.get(), reinterpret_cast<const unsigned char*>(der.data()),
                                       der.size()) == 1;
}

}  // namespace

TrustedKeys load_trusted_keys(const std::string& dir) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0)
        throw VerifyError("cannot read the trusted update keys in " + dir + ": " + std::strerror(errno));
    if (!S_ISDIR(st.st_mode)) throw VerifyError(dir + " is not a directory of trusted update keys");
    if (auto why = writable_by_others(dir, st); !why.empty())
        throw VerifyError("no update key is trusted: " + why);
    TrustedKeys out;
    std::vector<fs::path> files;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec))
        if (entry.path().extension() == ".pem") files.push_back(entry.path());
    if (ec) throw VerifyError("cannot list the trusted update keys in " + dir + ": " + ec.message());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        const std::string path = f.string();
        struct stat fst {};
        if (::lstat(path.c_str(), &fst) != 0 || !S_ISREG(fst.st_mode)) {
            out.problems.push_back(path + ": not a regular file");
            continue;
        }
        if (auto why = writable_by_others(path, fst); !why.empty()) {
            out.problems.push_back(path + ": " + why);
            continue;
        }
        std::string why;
        if (!read_p256_public_key(path, why)) {
            out.problems.push_back(path + ": " + why);
            continue;
        }
        out.files.push_back(path);
    }
    return out;
}

std::string verify_package(const std::string& path, const PackageClaim& claim, const std::string& keys_dir) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0)
        throw VerifyError("cannot read " + path + ": " + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) throw VerifyError(path + " is not a regular file");
    if (static_cast<uint64_t>(st.st_size) != claim.size)
        throw VerifyError(path + " is " + std::to_string(st.st_size) + " bytes, not the " +
                          std::to_string(claim.size) + " the job names");
    std::string digest;
    try {
        digest = core::sha256_file_hex(path);
    } catch (const std::runtime_error& e) {
        throw VerifyError(e.what());
    }
    if (digest != to_lower_hex(claim.sha256))
        throw VerifyError(path + "'s SHA-256 is " + digest + ", not the " + claim.sha256 + " the job names");
    const std::string der = base64_decode(claim.signature);
    if (der.empty()) throw VerifyError("the signature is not base64");
    const TrustedKeys keys = load_trusted_keys(keys_dir);
    if (keys.files.empty()) {
        std::string text = "no trusted update key in " + keys_dir;
        for (const auto& p : keys.problems) text += "; " + p;
        throw VerifyError(text);
    }
    for (const auto& file : keys.files) {
        std::string why;
        PKey key = read_p256_public_key(file, why);
        if (key && verifies(key.get(), path, der)) return file;
    }
    throw VerifyError("the signature of " + path + " is not by any trusted update key in " + keys_dir + " (" +
                      std::to_string(keys.files.size()) + " tried)");
}

}  // namespace iotgw::core::update
