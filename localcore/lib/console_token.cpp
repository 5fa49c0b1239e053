#include "console_token.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <array>
#include <cctype>
#include <ctime>
#include <vector>

#include "atomic_file.hpp"
#include "json_out.hpp"
#include "time_text.hpp"

namespace localcore {
namespace {

constexpr std::string_view kPrefix = "lct1.";
constexpr std::size_t kKeyBytes = 32;
constexpr std::size_t kMaxTokenBytes = 2048;  // far above a real token; bounds the work on junk input
constexpr std::int64_t kClockSkewSeconds = 60;

constexpr char kB64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url(const unsigned char* data, std::size_t size) {
    std::string out;
    out.reserve((size + 2) / 3 * 4);
    for (std::size_t i = 0; i < size; i += 3) {
        const std::uint32_t n = (std::uint32_t{data[i]} << 16) |
                                (i + 1 < size ? std::uint32_t{data[i + 1]} << 8 : 0) |
                                (i + 2 < size ? std::uint32_t{data[i + 2]} : 0);
        out.push_back(kB64Url[(n >> 18) & 63]);
        out.push_back(kB64Url[(n >> 12) & 63]);
        if (i + 1 < size) out.push_back(kB64Url[(n >> 6) & 63]);
        if (i + 2 < size) out.push_back(kB64Url[n & 63]);
    }
    return out;
}

// Unpadded, canonical base64url only: false for any other character, an impossible length, or
// non-zero unused bits in the last character (else 4 different texts would decode to the same
// signature, and a token could be altered without touching its bytes).
bool unbase64url(std::string_view text, std::string& out) {
    out.clear();
    std::uint32_t acc = 0;
    int bits = 0;
    for (const char c : text) {
        const char* pos = std::char_traits<char>::find(kB64Url, 64, c);
        if (pos == nullptr) return false;
        acc = (acc << 6) | static_cast<std::uint32_t>(pos - kB64Url);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
    }
    return text.size() % 4 != 1 && (acc & ((1u << bits) - 1u)) == 0;
}

std::string hex(const unsigned char* data, std::size_t size) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < size; ++i) {
        out.push_back(kDigits[data[i] >> 4]);
        out.push_back(kDigits[data[i] & 0x0f]);
    }
    return out;
}

std::string random_hex(std::size_t bytes) {
    std::vector<unsigned char> buf(bytes);
    if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1)
        throw Error("cannot draw random bytes from OpenSSL; check the system's entropy source");
    return hex(buf.data(), buf.size());
}

std::array<unsigned char, kKeyBytes> parse_key(const std::string& text, const std::filesystem::path& path) {
    std::string digits = text;
    while (!digits.empty() && std::isspace(static_cast<unsigned char>(digits.back()))) digits.pop_back();
    std::array<unsigned char, kKeyBytes> key{};
    const auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    bool ok = digits.size() == kKeyBytes * 2;
    for (std::size_t i = 0; ok && i < kKeyBytes; ++i) {
        const int hi = nibble(digits[2 * i]), lo = nibble(digits[2 * i + 1]);
        ok = hi >= 0 && lo >= 0;
        key[i] = static_cast<unsigned char>(ok ? hi * 16 + lo : 0);
    }
    if (!ok)
        throw Error(path.string() +
                    " is not 64 lowercase hex digits; delete it to make a new key (every "
                    "console token issued so far stops working)");
    return key;
}

std::array<unsigned char, kKeyBytes> read_key(const std::filesystem::path& data_dir) {
    const auto path = console_token_key_path(data_dir);
    const auto text = read_file_if_exists(path);
    if (!text)
        throw Error("no console token key (" + path.string() + "); issue a token with `localcore --data " +
                    data_dir.string() + " issue-console-token` first");
    return parse_key(*text, path);
}

std::array<unsigned char, kKeyBytes> read_or_create_key(const std::filesystem::path& data_dir) {
    const auto path = console_token_key_path(data_dir);
    if (!read_file_if_exists(path)) {
        try {
            write_new_file_atomic(path, random_hex(kKeyBytes) + "\n", 0600);
        } catch (const Error&) {
            // Another process created it at the same moment: use theirs (read below), else fail there.
        }
    }
    return read_key(data_dir);
}

std::string sign(const std::array<unsigned char, kKeyBytes>& key, std::string_view signed_part) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(), mac,
             &mac_len) == nullptr)
        throw Error("HMAC-SHA256 failed in OpenSSL");
    return std::string(reinterpret_cast<const char*>(mac), mac_len);
}

std::string string_member(const rapidjson::Value& doc, const char* name) {
    const auto it = doc.FindMember(name);
    if (it == doc.MemberEnd() || !it->value.IsString())
        throw Error(std::string("console token claims lack the string \"") + name + "\"; issue a new token");
    return std::string(it->value.GetString(), it->value.GetStringLength());
}

bool is_token_id(std::string_view text) {
    if (text.size() != 32) return false;
    for (const char c : text)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

std::filesystem::path revocations_lock_path(const std::filesystem::path& data_dir) {
    return data_dir / "console-token-revocations.lock";
}

std::string revocations_json(const std::map<std::string, std::int64_t>& revoked) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    w.StartObject();
    for (const auto& [id, at] : revoked) {
        w.Key(id.data(), static_cast<rapidjson::SizeType>(id.size()));
        w.Int64(at);
    }
    w.EndObject();
    return std::string(buffer.GetString(), buffer.GetSize()) + "\n";
}

std::int64_t int_member(const rapidjson::Value& doc, const char* name) {
    const auto it = doc.FindMember(name);
    if (it == doc.MemberEnd() || !it->value.IsInt64())
        throw Error(std::string("console token claims lack the integer \"") + name + "\"; issue a new token");
    return it->value.GetInt64();
}

}  // namespace

std::filesystem::path console_token_key_path(const std::filesystem::path& data_dir) {
    return data_dir / "console-token.key";
}

void validate_client_prefix(std::string_view prefix) {
    if (prefix.empty() || prefix.size() > 64)
        throw Error("client prefix '" + std::string(prefix) + "' must be 1 to 64 characters long");
    for (const char c : prefix) {
        const bool ok =
            std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == ':' || c == '.';
        if (!ok)
            throw Error("client prefix '" + std::string(prefix) + "' contains '" + std::string(1, c) +
                        "'; use only A-Z a-z 0-9 _ - : .");
    }
}

std::string issue_console_token(const std::filesystem::path& data_dir, std::string_view policy,
                                std::string_view client_prefix, std::chrono::seconds lifetime,
                                std::int64_t now_s) {
    if (policy.empty()) throw Error("a console token needs a policy name");
    validate_client_prefix(client_prefix);
    if (lifetime < std::chrono::minutes(1) || lifetime > kMaxConsoleTokenLifetime)
        throw Error("console token lifetime " + std::to_string(lifetime.count()) +
                    " s is out of range; use 1m to 24h");
    const auto key = read_or_create_key(data_dir);
    JsonOut claims;
    claims.field("v", 1)
        .field("jti", random_hex(16))
        .field("policy", policy)
        .field("client_prefix", client_prefix)
        .field("iat", now_s)
        .field("exp", now_s + lifetime.count());
    const std::string body = claims.done();
    const std::string signed_part =
        std::string(kPrefix) + base64url(reinterpret_cast<const unsigned char*>(body.data()), body.size());
    const std::string mac = sign(key, signed_part);
    return signed_part + "." + base64url(reinterpret_cast<const unsigned char*>(mac.data()), mac.size());
}

ConsoleTokenClaims verify_console_token(const std::filesystem::path& data_dir, std::string_view token,
                                        std::int64_t now_s) {
    if (token.size() > kMaxTokenBytes) throw Error("console token is too long; issue a new token");
    if (!token.starts_with(kPrefix))
        throw Error(
            "not a console token (it does not start with \"lct1.\"); issue one with `localcore "
            "issue-console-token`");
    const auto dot = token.rfind('.');
    if (dot < kPrefix.size() || token.find('.', kPrefix.size()) != dot)
        throw Error("console token is malformed (expected lct1.<claims>.<signature>)");
    const std::string_view signed_part = token.substr(0, dot);
    std::string given_mac, body;
    if (!unbase64url(token.substr(dot + 1), given_mac) ||
        !unbase64url(signed_part.substr(kPrefix.size()), body))
        throw Error("console token is malformed (not base64url)");
    const std::string expected_mac = sign(read_key(data_dir), signed_part);
    if (given_mac.size() != expected_mac.size() ||
        CRYPTO_memcmp(given_mac.data(), expected_mac.data(), expected_mac.size()) != 0)
        throw Error("console token has a bad signature (not issued by this localcore, or altered)");

    rapidjson::Document doc;
    doc.Parse(body.data(), body.size());
    if (doc.HasParseError() || !doc.IsObject()) throw Error("console token claims are not a JSON object");
    if (int_member(doc, "v") != 1) throw Error("console token version is not 1; issue a new token");
    ConsoleTokenClaims claims;
    claims.token_id = string_member(doc, "jti");
    claims.policy = string_member(doc, "policy");
    claims.client_prefix = string_member(doc, "client_prefix");
    claims.issued_at = int_member(doc, "iat");
    claims.expires_at = int_member(doc, "exp");
    validate_client_prefix(claims.client_prefix);
    if (now_s >= claims.expires_at)
        throw Error("console token expired at " + utc_iso8601(claims.expires_at) + "; fetch a new one");
    if (claims.issued_at > now_s + kClockSkewSeconds)
        throw Error("console token is issued in the future (" + utc_iso8601(claims.issued_at) + "); check the clock");
    const auto revoked = console_token_revocations(data_dir);
    if (const auto it = revoked.find(claims.token_id); it != revoked.end())
        throw Error("console token " + claims.token_id + " was revoked at " + utc_iso8601(it->second) +
                    "; fetch a new one");
    return claims;
}

std::filesystem::path console_token_revocations_path(const std::filesystem::path& data_dir) {
    return data_dir / "console-token-revocations.json";
}

std::string parse_console_token_id(std::string_view text) {
    constexpr std::string_view kPrincipalPrefix = "console-token/";
    std::string_view id = text;
    if (id.starts_with(kPrincipalPrefix)) id.remove_prefix(kPrincipalPrefix.size());
    if (!is_token_id(id))
        throw Error("'" + std::string(text) +
                    "' is not a console token id; give the 32 lowercase hex digits of the token's \"jti\" or "
                    "the principalIdentifier console-token/<jti> of its lifecycle events");
    return std::string(id);
}

std::map<std::string, std::int64_t> console_token_revocations(const std::filesystem::path& data_dir) {
    const auto path = console_token_revocations_path(data_dir);
    const auto text = read_file_if_exists(path);
    std::map<std::string, std::int64_t> out;
    if (!text) return out;
    rapidjson::Document doc;
    doc.Parse(text->data(), text->size());
    const auto damaged = [&](const std::string& what) {
        return Error(path.string() + " " + what +
                     "; repair it (a JSON object of token id -> epoch seconds) or delete it, which un-revokes "
                     "every token on it");
    };
    if (doc.HasParseError() || !doc.IsObject()) throw damaged("is not a JSON object");
    for (const auto& member : doc.GetObject()) {
        const std::string id(member.name.GetString(), member.name.GetStringLength());
        if (!is_token_id(id)) throw damaged("has '" + id + "', which is not a token id (32 lowercase hex digits)");
        if (!member.value.IsInt64()) throw damaged("has a non-integer time for " + id);
        out.emplace(id, member.value.GetInt64());
    }
    return out;
}

ConsoleTokenRevocation revoke_console_token(const std::filesystem::path& data_dir, std::string_view token_id,
                                            std::int64_t now_s) {
    const std::string id = parse_console_token_id(token_id);
    // The whole read-modify-write under the lock: two revocations at once both land.
    FileLock lock(revocations_lock_path(data_dir));
    auto revoked = console_token_revocations(data_dir);
    const auto it = revoked.find(id);
    if (it != revoked.end()) return {id, it->second, false};
    std::erase_if(revoked, [&](const auto& entry) { return entry.second < now_s - kRevocationKeptFor.count(); });
    revoked.emplace(id, now_s);
    write_file_atomic(console_token_revocations_path(data_dir), revocations_json(revoked), 0600);
    return {id, now_s, true};
}

}  // namespace localcore
