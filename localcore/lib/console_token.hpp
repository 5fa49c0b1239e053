// Console tokens: the credential localcore issues to the browser console, standing in for what
// AWS gives a browser (Cognito Identity Pool credentials + a SigV4-presigned WSS URL). Browsers
// cannot practically present a client certificate, so the console connects over MQTT-over-WSS with
// a token as its MQTT password. The token is signed (HMAC-SHA256 with a key kept in the data
// directory), expires, pins a client id prefix and names the IoT policy every operation of the
// connection is checked against, exactly like the policies attached to a device certificate.
//
// Format: "lct1.<base64url(JSON claims)>.<base64url(HMAC-SHA256(key, "lct1.<claims part>"))>"
// with claims {"v":1,"jti":"<32 hex>","policy":"console","client_prefix":"console-","iat":S,"exp":S}
// (epoch seconds).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

namespace localcore {

struct ConsoleTokenClaims {
    std::string token_id;         // "jti": random, 32 hex digits; the principal in lifecycle events
    std::string policy;           // the IoT policy applied to every operation of the connection
    std::string client_prefix;    // client ids must start with it
    std::int64_t issued_at = 0;   // epoch seconds
    std::int64_t expires_at = 0;  // epoch seconds; the token is refused from then on
};

// The longest lifetime a console token may have: AWS closes SigV4 WebSocket connections after
// 24 h, and temporary credentials live 1 h by default; a day is already generous.
inline constexpr std::chrono::seconds kMaxConsoleTokenLifetime{24 * 3600};

// DIR/console-token.key: 32 random bytes as 64 hex digits, mode 0600.
std::filesystem::path console_token_key_path(const std::filesystem::path& data_dir);

// The client id prefix rule: 1-64 of `A-Z a-z 0-9 _ - : .` (never an MQTT wildcard or `$`).
// Throws Error saying what is wrong.
void validate_client_prefix(std::string_view prefix);

// Issues a token valid from `now_s` for `lifetime` (1 minute to kMaxConsoleTokenLifetime). Creates
// the signing key on first use. Does not check that the policy exists (the caller does; the broker
// refuses a token whose policy is missing at connect time).
std::string issue_console_token(const std::filesystem::path& data_dir, std::string_view policy,
                                std::string_view client_prefix, std::chrono::seconds lifetime,
                                std::int64_t now_s);

// Checks the format, the signature (constant time), the expiry and the revocation list; returns the
// claims or throws Error saying what is wrong ("console token expired at ...", "bad signature",
// "console token <id> was revoked at ...").
ConsoleTokenClaims verify_console_token(const std::filesystem::path& data_dir, std::string_view token,
                                        std::int64_t now_s);

// Revocation: an operator ends a token before its expiry (`localcore revoke-console-token`). The
// list is DIR/console-token-revocations.json, {"<token id>": <revoked at, epoch seconds>, ...}, mode
// 0600, replaced atomically under the lock file DIR/console-token-revocations.lock, so concurrent
// revocations never lose each other and the broker (which only reads it) never sees half a file.
// A missing file is an empty list; a damaged one is refused with a message naming it.
std::filesystem::path console_token_revocations_path(const std::filesystem::path& data_dir);

// A token id as an operator may give it: the 32 hex digits of "jti", or the lifecycle events'
// principalIdentifier "console-token/<jti>". Returns the 32 lowercase hex digits; throws Error.
std::string parse_console_token_id(std::string_view text);

struct ConsoleTokenRevocation {
    std::string token_id;
    std::int64_t revoked_at = 0;  // epoch seconds
    bool newly_revoked = false;   // false: it was already on the list (revoked_at is the first time)
};

// Adds `token_id` (as parse_console_token_id returns it) to the list. Idempotent. Entries older
// than kRevocationKeptFor are dropped on the way: every token revoked then has expired since.
ConsoleTokenRevocation revoke_console_token(const std::filesystem::path& data_dir, std::string_view token_id,
                                            std::int64_t now_s);

// Token id -> revoked at (epoch seconds). Throws Error for a damaged file.
std::map<std::string, std::int64_t> console_token_revocations(const std::filesystem::path& data_dir);

// How long a revocation is kept: a token lives at most kMaxConsoleTokenLifetime from its "iat",
// and "iat" may be at most a minute ahead of the verifier's clock; twice the lifetime is a wide margin.
inline constexpr std::chrono::seconds kRevocationKeptFor = 2 * kMaxConsoleTokenLifetime;

}  // namespace localcore
