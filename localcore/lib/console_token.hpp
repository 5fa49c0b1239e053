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

// Checks the format, the signature (constant time) and the expiry; returns the claims or throws
// Error saying what is wrong ("console token expired at ...", "bad signature", ...).
ConsoleTokenClaims verify_console_token(const std::filesystem::path& data_dir, std::string_view token,
                                        std::int64_t now_s);

}  // namespace localcore
