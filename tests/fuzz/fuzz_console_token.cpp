// libFuzzer target: localcore's console token verifier (console_token.cpp), the check on the
// MQTT password of every browser console connection, against a fixed signing key.
//
// Input (fuzz_input.hpp): line 1 picks what the rest is:
// - "token": the rest is a token as a browser would send it (the seed corpus holds real tokens
//   signed with the fixed key, so mutations start from valid ones);
// - "claims": the rest is a claims JSON that the target signs with the fixed key, so the
//   fuzzer reaches the claims checks behind the signature;
// - "issue": line 2 the policy (a name the registry accepts), line 3 the client prefix, line 4
//   the lifetime in seconds, line 5 the issue time (epoch seconds): issue, then verify.
// Refusals (localcore::Error) are fine; anything else thrown, crashes, sanitizer reports and the
// broken invariants below are not:
// - an accepted token has a valid client prefix, has not expired and is not from the future;
// - an accepted token with any one character of its signature changed is refused (the encoding
//   is canonical: no second spelling of a signature);
// - an issued token verifies, with the claims it was issued with, until it expires, and is
//   refused from its expiry on.
#include "atomic_file.hpp"
#include "console_token.hpp"
#include "fuzz_input.hpp"
#include "registry.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using localcore::ConsoleTokenClaims;

// The seed tokens in tests/fuzz/corpus/console_token/ are signed with this key at kNow - 60 for
// one hour (see README there): they stay valid, since the fuzzer's clock does not move.
constexpr std::string_view kKeyHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr std::int64_t kNow = 1'800'000'000;
constexpr std::string_view kB64Url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// A scratch data directory holding only the key, removed when the fuzzer exits.
const fs::path& data_dir() {
    static const fs::path dir = [] {
        std::string templ = (fs::temp_directory_path() / "iotgw-fuzz-console-token-XXXXXX").string();
        if (mkdtemp(templ.data()) == nullptr) std::abort();
        std::ofstream(fs::path(templ) / "console-token.key") << kKeyHex << "\n";
        std::atexit([] {
            std::error_code ec;
            fs::remove_all(data_dir(), ec);
        });
        return fs::path(templ);
    }();
    return dir;
}

std::string base64url(std::string_view bytes) {
    std::string out;
    for (size_t i = 0; i < bytes.size(); i += 3) {
        std::uint32_t n = std::uint32_t{static_cast<unsigned char>(bytes[i])} << 16;
        if (i + 1 < bytes.size()) n |= std::uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8;
        if (i + 2 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 2]);
        out += kB64Url[(n >> 18) & 63];
        out += kB64Url[(n >> 12) & 63];
        if (i + 1 < bytes.size()) out += kB64Url[(n >> 6) & 63];
        if (i + 2 < bytes.size()) out += kB64Url[n & 63];
    }
    return out;
}

// "lct1.<claims>.<HMAC-SHA256>" with the fixed key, written independently of console_token.cpp.
std::string signed_token(std::string_view claims) {
    unsigned char key[32];
    for (size_t i = 0; i < 32; ++i)
        std::from_chars(kKeyHex.data() + 2 * i, kKeyHex.data() + 2 * i + 2, key[i], 16);
    const std::string signed_part = "lct1." + base64url(claims);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (HMAC(EVP_sha256(), key, sizeof key, reinterpret_cast<const unsigned char*>(signed_part.data()),
             signed_part.size(), mac, &mac_len) == nullptr)
        std::abort();
    return signed_part + "." + base64url(std::string_view(reinterpret_cast<const char*>(mac), mac_len));
}

std::optional<ConsoleTokenClaims> verify(std::string_view token, std::int64_t now) {
    try {
        return localcore::verify_console_token(data_dir(), token, now);
    } catch (const localcore::Error&) {
        return std::nullopt;
    }
}

bool valid_prefix(const std::string& prefix) {
    try {
        localcore::validate_client_prefix(prefix);
        return true;
    } catch (const localcore::Error&) {
        return false;
    }
}

// `every_position`: alter each character of the signature, else only the last one (where unused
// bits would allow a second spelling); the full check costs ~2700 verifications.
void check_accepted(std::string_view token, const ConsoleTokenClaims& claims, std::int64_t now,
                    bool every_position) {
    IOTGW_FUZZ_CHECK(valid_prefix(claims.client_prefix));
    IOTGW_FUZZ_CHECK(now < claims.expires_at);
    IOTGW_FUZZ_CHECK(claims.issued_at <= now + 60);
    const size_t signature = token.rfind('.') + 1;
    std::string altered(token);
    for (size_t i = every_position ? signature : altered.size() - 1; i < altered.size(); ++i) {
        const char original = altered[i];
        for (const char c : kB64Url) {
            if (c == original) continue;
            altered[i] = c;
            IOTGW_FUZZ_CHECK(!verify(altered, now));
        }
        altered[i] = original;
    }
}

std::optional<std::int64_t> number(std::string_view text) {
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return n;
}

void issue_then_verify(iotgw::fuzz::LineReader& in) {
    const std::string policy(in.line());
    const std::string prefix(in.line());
    const auto lifetime = number(in.line());
    const auto now = number(in.line());
    // Clock values a real machine has (up to year 10000): the issuer adds the lifetime to them.
    if (!lifetime || !now || *now < 0 || *now > 253'402'300'799) return;
    // The CLI issues tokens only for policies in the registry, whose names are at most 128 safe
    // characters; 250 NUL bytes (6 bytes each once escaped) would make a token over the
    // verifier's 2048-byte limit.
    try {
        localcore::validate_policy_name(policy);
    } catch (const localcore::Error&) {
        return;
    }
    std::string token;
    try {
        token = localcore::issue_console_token(data_dir(), policy, prefix, std::chrono::seconds(*lifetime), *now);
    } catch (const localcore::Error&) {
        return;
    }
    const auto claims = verify(token, *now);
    IOTGW_FUZZ_CHECK(claims);
    IOTGW_FUZZ_CHECK(claims->policy == policy && claims->client_prefix == prefix);
    IOTGW_FUZZ_CHECK(claims->issued_at == *now && claims->expires_at == *now + *lifetime);
    IOTGW_FUZZ_CHECK(verify(token, *now + *lifetime - 1));
    IOTGW_FUZZ_CHECK(!verify(token, *now + *lifetime));
    check_accepted(token, *claims, *now, false);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    iotgw::fuzz::LineReader in(data, size);
    const std::string_view mode = in.line();
    if (mode == "token") {
        const std::string_view token = in.rest();
        if (const auto claims = verify(token, kNow)) check_accepted(token, *claims, kNow, true);
    } else if (mode == "claims") {
        // The signature is the target's own here: altering it tests nothing new.
        const std::string token = signed_token(in.rest());
        if (const auto claims = verify(token, kNow)) {
            IOTGW_FUZZ_CHECK(valid_prefix(claims->client_prefix));
            IOTGW_FUZZ_CHECK(kNow < claims->expires_at && claims->issued_at <= kNow + 60);
        }
    } else if (mode == "issue") {
        issue_then_verify(in);
    }
    return 0;
}
