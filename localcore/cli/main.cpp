// `localcore`: administers the local AWS IoT Core stand-in's data directory.
#include <cstdlib>
#include <functional>
#include <iostream>
#include <string_view>

#include "atomic_file.hpp"
#include "cli.hpp"

namespace localcore::cli {
namespace {

constexpr const char* kHelp = R"(usage: localcore [--data DIR] COMMAND [ARGS]

A local stand-in for AWS IoT Core: registry (things, certificates, policies), a local CA and the
mosquitto plugin (mosquitto-conf). DIR may also come from the LOCALCORE_DATA environment variable.

commands:
  init [DIR] [--policies DIR]        create the data directory, CA, server certificate and load
                                     the policies (*.json, default: the repo's cloud/policies)
  create-thing NAME                  register a thing
  issue-cert --thing NAME --out PREFIX [--lifetime 1y] [--policy device] [--status ACTIVE]
                                     issue a key + certificate (PREFIX.key, PREFIX.pem), register
                                     it, attach the thing and the policy; prints the certificate id
  issue-claim-cert --thing NAME --out PREFIX [--csr FILE] [--replace] [--lifetime 20y] [--policy claim]
                                     a fleet-provisioning claim certificate for one device (subject
                                     CN = NAME): with --csr, for the CSR made on the device (CN must
                                     be NAME; writes PREFIX.pem), else for PREFIX.key (reused if it
                                     exists, generated otherwise). A re-run with the same key prints
                                     the same certificate; another key is refused unless --replace
                                     (which revokes the old one)
  issue-claim-cert --fleet-wide --out PREFIX [--cn localcore-claim] [--policy claim] [--lifetime 20y]
                                     the weaker mode: one claim certificate for many devices (see
                                     cloud/provisioning/README.md); warns
  issue-batch --prefix AMR- --count N --out DIR [--start 1] [--digits D] [--lifetime 1y] [--policy device]
                                     N things PREFIX<number> (zero-padded to D digits) with a key +
                                     certificate each (DIR/NAME.key, DIR/NAME.pem), registered in one
                                     write; prints "NAME CERT_ID" per thing (fleets, tests/fleet)
  lock-thing --thing NAME            operator lock: RegisterThing for NAME is refused (thing
                                     attribute locked=true) until unlock-thing --thing NAME
  put-policy NAME FILE               create or replace a policy from a JSON file
  attach-policy CERT_ID NAME         attach a policy to a certificate
  set-cert-status CERT_ID STATUS     ACTIVE, INACTIVE or REVOKED (REVOKED is permanent)
  list things|certs|policies
  describe thing NAME | cert CERT_ID
  issue-console-token [--policy console] [--client-prefix console-] [--lifetime 1h] [--json yes]
                                     a signed, expiring token for the browser console: its MQTT
                                     password on the websocket listener (lifetime 1m to 24h)
  revoke-console-token --id ID       refuse a console token from now on and end its connections
                                     (ID: the token's jti, or console-token/<jti> as lifecycle
                                     events name it)
  revoked-console-tokens             list the revoked console token ids
  create-job --thing NAME --document FILE [--job-id ID] [--timeout 30m]
                                     an AWS IoT Jobs job for one thing (the document: a JSON
                                     object of at most 32 KB; --timeout: its in-progress timeout,
                                     1m to 7d); prints the job id. Devices see it through the
                                     Jobs MQTT API ($aws/things/NAME/jobs/...)
  describe-job --thing NAME [--job-id ID]
                                     the execution as JSON, or one line per job of the thing
  cancel-job --thing NAME --job-id ID
                                     end a queued or in-progress job (CANCELED)
  mosquitto-conf [--port 8883] [--plugin PATH] [--templates DIR]
                 [--mqtt311-unauthorized disconnect|suback_failure] [--websockets PORT]
                                     print the mosquitto.conf to run the broker with

CERT_ID may be a unique prefix of at least 8 hex characters. Lifetimes: 10m, 12h, 30d, 1y, 20y.
Exit status: 0 success, 1 failure, 2 bad usage.
)";

Args parse(int argc, char** argv) {
    Args args;
    if (const char* env = std::getenv("LOCALCORE_DATA"); env && *env) args.data_dir = env;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a.size() > 2 && a.substr(0, 2) == "--") {
            std::string name(a), value;
            if (auto eq = a.find('='); eq != std::string_view::npos) {
                name = std::string(a.substr(0, eq));
                value = std::string(a.substr(eq + 1));
            } else if (name == "--help" || name == "--fleet-wide" || name == "--replace") {
                value = "yes";  // flags
            } else {
                if (i + 1 >= argc)
                    throw UsageError("option " + name + " needs a value; see `localcore --help`");
                value = argv[++i];
            }
            if (name == "--data" && args.command.empty())
                args.data_dir = value;
            else
                args.options[name] = value;
        } else if (args.command.empty()) {
            args.command = std::string(a);
        } else {
            args.positional.emplace_back(a);
        }
    }
    return args;
}

int run(int argc, char** argv) {
    const Args args = parse(argc, argv);
    if (args.options.count("--help") || args.command == "help") {
        std::cout << kHelp;
        return 0;
    }
    if (args.command.empty()) throw UsageError("no command given; see `localcore --help`");
    static const std::map<std::string, std::function<void(const Args&)>> commands = {
        {"init", cmd_init},
        {"create-thing", cmd_create_thing},
        {"issue-cert", cmd_issue_cert},
        {"issue-claim-cert", cmd_issue_claim_cert},
        {"issue-batch", cmd_issue_batch},
        {"lock-thing", cmd_lock_thing},
        {"unlock-thing", cmd_unlock_thing},
        {"put-policy", cmd_put_policy},
        {"attach-policy", cmd_attach_policy},
        {"set-cert-status", cmd_set_cert_status},
        {"list", cmd_list},
        {"describe", cmd_describe},
        {"mosquitto-conf", cmd_mosquitto_conf},
        {"issue-console-token", cmd_issue_console_token},
        {"revoke-console-token", cmd_revoke_console_token},
        {"revoked-console-tokens", cmd_revoked_console_tokens},
        {"create-job", cmd_create_job},
        {"describe-job", cmd_describe_job},
        {"cancel-job", cmd_cancel_job},
    };
    auto it = commands.find(args.command);
    if (it == commands.end())
        throw UsageError("unknown command '" + args.command + "'; see `localcore --help`");
    it->second(args);
    return 0;
}

}  // namespace
}  // namespace localcore::cli

int main(int argc, char** argv) {
    try {
        return localcore::cli::run(argc, argv);
    } catch (const localcore::cli::UsageError& e) {
        std::cerr << "localcore: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "localcore: " << e.what() << "\n";
        return 1;
    }
}
