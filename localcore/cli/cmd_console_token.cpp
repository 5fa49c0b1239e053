// issue-console-token: the credential the browser console connects with in local mode (what an
// AWS Identity Pool + SigV4 gives it in the cloud); revoke-console-token / revoked-console-tokens:
// the operator ends one before its expiry. See lib/console_token.hpp.
#include <chrono>
#include <iostream>

#include "ca.hpp"
#include "cli.hpp"
#include "console_token.hpp"
#include "json_out.hpp"
#include "registry.hpp"

namespace localcore::cli {

void cmd_issue_console_token(const Args& args) {
    args.allow_options({"--policy", "--client-prefix", "--lifetime", "--json"});
    args.expect_positional(0,
                           "--data DIR issue-console-token [--policy console] [--client-prefix console-] "
                           "[--lifetime 1h] [--json yes]");
    const auto data = args.data();
    const std::string policy = args.option_or("--policy", "console");
    const std::string prefix = args.option_or("--client-prefix", "console-");
    const std::string json = args.option_or("--json", "no");
    if (json != "yes" && json != "no") throw UsageError("invalid --json '" + json + "'; use yes or no");
    const auto lifetime = parse_lifetime(args.option_or("--lifetime", "1h"));
    if (!Registry::open(data).snapshot().policies.count(policy))
        throw Error("policy '" + policy + "' does not exist; add it with `localcore put-policy " + policy +
                    " FILE`");
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    const std::string token = issue_console_token(data, policy, prefix, lifetime, now);
    // The id an operator revokes it by (revoke-console-token), read back from the token just made.
    const std::string token_id = verify_console_token(data, token, now).token_id;
    if (json == "no") {
        std::cout << token << "\n";
        return;
    }
    // What the demo's web server hands the page: the MQTT username/password and the rules.
    JsonOut out;
    out.field("username", "console-token")
        .field("token", token)
        .field("token_id", token_id)
        .field("client_prefix", prefix)
        .field("policy", policy)
        .field("issued_at", static_cast<std::int64_t>(now))
        .field("expires_at", static_cast<std::int64_t>(now + lifetime.count()));
    std::cout << out.done() << "\n";
}

void cmd_revoke_console_token(const Args& args) {
    args.allow_options({"--id"});
    args.expect_positional(0, "--data DIR revoke-console-token --id ID");
    const auto data = args.data();
    const std::string given = args.required_option("--id");
    std::string id;
    try {
        id = parse_console_token_id(given);
    } catch (const Error& e) {
        throw UsageError(e.what());
    }
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    const ConsoleTokenRevocation r = revoke_console_token(data, id, now);
    // The broker ends the token's live connections at its next registry poll (<= 250 ms).
    std::cout << (r.newly_revoked ? "revoked console token " : "console token already revoked: ") << r.token_id
              << " at " << format_time(r.revoked_at) << "\n";
}

void cmd_revoked_console_tokens(const Args& args) {
    args.allow_options({});
    args.expect_positional(0, "--data DIR revoked-console-tokens");
    for (const auto& [id, at] : console_token_revocations(args.data()))
        std::cout << id << " revoked_at=" << format_time(at) << "\n";
}

}  // namespace localcore::cli
