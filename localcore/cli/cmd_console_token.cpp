// issue-console-token: the credential the browser console connects with in local mode (what an
// AWS Identity Pool + SigV4 gives it in the cloud); see lib/console_token.hpp.
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
    if (json == "no") {
        std::cout << token << "\n";
        return;
    }
    // What the demo's web server hands the page: the MQTT username/password and the rules.
    JsonOut out;
    out.field("username", "console-token")
        .field("token", token)
        .field("client_prefix", prefix)
        .field("policy", policy)
        .field("issued_at", static_cast<std::int64_t>(now))
        .field("expires_at", static_cast<std::int64_t>(now + lifetime.count()));
    std::cout << out.done() << "\n";
}

}  // namespace localcore::cli
