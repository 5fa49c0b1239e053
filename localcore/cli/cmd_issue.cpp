// init, issue-cert and issue-claim-cert: the commands that create keys.
#include <algorithm>
#include <iostream>

#include "atomic_file.hpp"
#include "ca.hpp"
#include "cli.hpp"
#include "registry.hpp"

namespace localcore::cli {
namespace {

std::filesystem::path default_policy_dir() { return LOCALCORE_POLICY_DIR; }

// Loads every *.json in `dir` as a policy named after the file; returns the names.
std::vector<std::string> load_policies(Registry& registry, const std::filesystem::path& dir) {
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
        if (entry.is_regular_file() && entry.path().extension() == ".json") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    std::vector<std::string> names;
    for (const auto& f : files) {
        const std::string name = f.stem().string();
        try {
            registry.put_policy(name, read_file(f));
        } catch (const Error& e) {
            throw Error(f.string() + ": " + e.what());
        }
        names.push_back(name);
    }
    return names;
}

// Writes the key and certificate, registers the certificate and removes the files again if
// registering fails, so a failed command leaves nothing half-done.
void issue_and_register(const std::filesystem::path& data, const std::string& cn, const std::string& lifetime,
                        const std::string& out_prefix, CertStatus status,
                        const std::vector<std::string>& things, const std::vector<std::string>& policies) {
    const auto life = parse_lifetime(lifetime);
    auto registry = Registry::open(data);
    {
        // Fail before generating anything when the attachments cannot work.
        const auto snap = registry.snapshot();
        for (const auto& t : things)
            if (!snap.things.count(t))
                throw Error("thing '" + t + "' does not exist; create it with `localcore create-thing " + t +
                            "`");
        for (const auto& p : policies)
            if (!snap.policies.count(p))
                throw Error("policy '" + p + "' does not exist; add it with `localcore put-policy " + p +
                            " FILE`");
    }
    const std::filesystem::path key_path = out_prefix + ".key";
    const std::filesystem::path cert_path = out_prefix + ".pem";
    std::error_code ec;
    for (const auto& p : {key_path, cert_path})
        if (std::filesystem::exists(p, ec))
            throw Error(p.string() + " already exists; choose another --out or remove the file");

    const auto ca = Ca::open(data / "ca");
    const auto issued = ca.issue(cn, life);
    write_new_file_atomic(key_path, issued.key_pem, 0600);
    std::string id;
    try {
        write_new_file_atomic(cert_path, issued.cert_pem, 0644);
        id = registry.add_certificate(issued.cert_pem, status, things, policies);
    } catch (...) {
        std::filesystem::remove(key_path, ec);
        std::filesystem::remove(cert_path, ec);
        throw;
    }
    std::cout << id << "\n";
}

CertStatus issue_status(const Args& args) {
    const auto status = parse_cert_status(args.option_or("--status", "ACTIVE"));
    if (status == CertStatus::Revoked)
        throw Error("a certificate cannot be issued REVOKED; use ACTIVE, INACTIVE or PENDING_ACTIVATION");
    return status;
}

}  // namespace

void cmd_init(const Args& args) {
    args.allow_options({"--policies"});
    if (args.positional.size() > 1) args.expect_positional(1, "--data DIR init  (or: init DIR)");
    const std::filesystem::path data =
        args.positional.empty() ? args.data() : std::filesystem::path(args.positional[0]);
    const auto policy_dir = args.option("--policies").value_or(default_policy_dir().string());
    std::error_code ec;
    if (!std::filesystem::is_directory(policy_dir, ec))
        throw Error("policy directory " + policy_dir + " does not exist; pass --policies DIR");
    if (std::filesystem::exists(data / "registry.json", ec) || std::filesystem::exists(data / "ca", ec))
        throw Error(data.string() + " is already initialised; use it, or remove it to start over");
    std::filesystem::create_directories(data, ec);
    if (ec) throw Error("cannot create " + data.string() + ": " + ec.message() + "; check permissions");
    Ca::init(data / "ca");
    // mosquitto's persistence_location must exist; mosquitto does not create it.
    std::filesystem::create_directories(data / "mosquitto", ec);
    auto registry = Registry::open(data);
    registry.update([](RegistryData&) {});  // an empty registry file marks the directory as ours
    const auto names = load_policies(registry, policy_dir);
    std::cout << "initialised " << data.string() << "\n"
              << "CA certificate: " << (data / "ca" / "ca.pem").string() << "\n"
              << "policies:";
    for (const auto& n : names) std::cout << " " << n;
    std::cout << "\n";
}

void cmd_issue_cert(const Args& args) {
    args.allow_options({"--thing", "--lifetime", "--out", "--policy", "--status"});
    args.expect_positional(0, "--data DIR issue-cert --thing NAME --out PREFIX [--lifetime 1y]");
    const auto thing = args.required_option("--thing");
    validate_thing_name(thing);
    const auto out = args.required_option("--out");
    issue_and_register(args.data(), thing, args.option_or("--lifetime", "1y"), out, issue_status(args),
                       {thing}, {args.option_or("--policy", "device")});
}

void cmd_issue_claim_cert(const Args& args) {
    args.allow_options({"--thing", "--fleet-wide", "--csr", "--replace", "--lifetime", "--out", "--policy",
                        "--cn", "--status"});
    args.expect_positional(
        0, "--data DIR issue-claim-cert --thing NAME --out PREFIX [--csr FILE] [--lifetime 20y]");
    const bool fleet_wide = args.option("--fleet-wide").has_value();
    if (fleet_wide == args.option("--thing").has_value())
        throw UsageError(
            "issue-claim-cert needs either --thing NAME (a claim certificate for that one device) or "
            "--fleet-wide (the weaker mode: one certificate for many devices); see `localcore --help`");
    if (!fleet_wide) return issue_device_claim_cert(args, issue_status(args));
    for (const char* per_device_only : {"--csr", "--replace"})
        if (args.option(per_device_only))
            throw UsageError(std::string(per_device_only) +
                             " is only for a per-device claim certificate (--thing)");
    // With the claim policy this is a fleet-wide claim certificate; with another policy (a console or
    // test identity attached to no thing) it is not a claim certificate at all.
    if (args.option_or("--policy", "claim") == "claim")
        std::cerr
            << "localcore: warning: a fleet-wide claim certificate is the weaker mode: whoever reads its key "
               "from one device can provision any serial once its id is on the template hook's "
               "fleetWideClaimCertificateIds, and its policy must allow the devices' claim client ids; "
               "prefer --thing NAME\n";
    const auto out = args.required_option("--out");
    issue_and_register(args.data(), args.option_or("--cn", "localcore-claim"),
                       args.option_or("--lifetime", "20y"), out, issue_status(args), {},
                       {args.option_or("--policy", "claim")});
}

}  // namespace localcore::cli
