// Commands that only read or change the registry.
#include <iostream>

#include "cli.hpp"
#include "registry.hpp"

namespace localcore::cli {
namespace {

std::string joined(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
    return out.empty() ? "-" : out;
}

}  // namespace

void cmd_create_thing(const Args& args) {
    args.allow_options({});
    args.expect_positional(1, "--data DIR create-thing NAME");
    Registry::open(args.data()).create_thing(args.positional[0]);
    std::cout << "created thing " << args.positional[0] << "\n";
}

namespace {
void set_locked(const Args& args, bool locked) {
    args.allow_options({"--thing"});
    args.expect_positional(0, "--data DIR " + args.command + " --thing NAME");
    const auto thing = args.required_option("--thing");
    Registry::open(args.data()).set_thing_attribute(thing, "locked", locked ? "true" : "false");
    if (locked)
        std::cout << "locked thing " << thing
                  << ": RegisterThing for it is refused until `localcore unlock-thing --thing " << thing
                  << "`\n";
    else
        std::cout << "unlocked thing " << thing
                  << ": it may provision again with its own claim certificate\n";
}
}  // namespace

// The operator lock the pre-provisioning hook honours (thing attribute locked = "true"; AWS:
// `aws iot update-thing --attribute-payload '{"attributes":{"locked":"true"},"merge":true}'`).
void cmd_lock_thing(const Args& args) { set_locked(args, true); }
void cmd_unlock_thing(const Args& args) { set_locked(args, false); }

void cmd_put_policy(const Args& args) {
    args.allow_options({});
    args.expect_positional(2, "--data DIR put-policy NAME FILE");
    auto registry = Registry::open(args.data());
    registry.put_policy(args.positional[0], read_file(args.positional[1]));
    std::cout << "stored policy " << args.positional[0] << "\n";
}

void cmd_attach_policy(const Args& args) {
    args.allow_options({});
    args.expect_positional(2, "--data DIR attach-policy CERT_ID NAME");
    auto registry = Registry::open(args.data());
    const auto id = registry.resolve_certificate_id(args.positional[0]);
    registry.attach_policy(id, args.positional[1]);
    std::cout << "attached policy " << args.positional[1] << " to " << id << "\n";
}

void cmd_set_cert_status(const Args& args) {
    args.allow_options({});
    args.expect_positional(2, "--data DIR set-cert-status CERT_ID ACTIVE|INACTIVE|REVOKED");
    const auto status = parse_cert_status(args.positional[1]);
    auto registry = Registry::open(args.data());
    // set_status resolves the prefix itself, after its own status rules, so a bad status is
    // reported even for a wrong id.
    registry.set_status(args.positional[0], status);
    std::cout << registry.resolve_certificate_id(args.positional[0]) << " " << to_string(status) << "\n";
}

void cmd_list(const Args& args) {
    args.allow_options({});
    args.expect_positional(1, "--data DIR list things|certs|policies");
    const auto data = Registry::open(args.data()).snapshot();
    const auto& what = args.positional[0];
    if (what == "things") {
        for (const auto& [name, _] : data.things) std::cout << name << "\n";
    } else if (what == "certs") {
        for (const auto& [id, c] : data.certificates)
            std::cout << id << " " << to_string(c.status) << " cn=" << c.subject_cn
                      << " not_after=" << format_time(c.not_after) << " things=" << joined(c.things)
                      << " policies=" << joined(c.policies) << "\n";
    } else if (what == "policies") {
        for (const auto& [name, _] : data.policies) std::cout << name << "\n";
    } else {
        throw UsageError("cannot list '" + what + "'; use things, certs or policies");
    }
}

void cmd_describe(const Args& args) {
    args.allow_options({});
    args.expect_positional(2, "--data DIR describe thing NAME | cert CERT_ID");
    auto registry = Registry::open(args.data());
    const auto& what = args.positional[0];
    if (what == "thing") {
        const auto data = registry.snapshot();
        auto it = data.things.find(args.positional[1]);
        if (it == data.things.end())
            throw Error("thing '" + args.positional[1] +
                        "' does not exist; list them with `localcore list things`");
        std::cout << "name: " << it->first << "\n";
        for (const auto& [k, v] : it->second.attributes) std::cout << "attribute " << k << ": " << v << "\n";
        for (const auto& [id, c] : data.certificates)
            for (const auto& t : c.things)
                if (t == it->first) std::cout << "certificate: " << id << " " << to_string(c.status) << "\n";
    } else if (what == "cert") {
        const auto c = *registry.certificate(registry.resolve_certificate_id(args.positional[1]));
        std::cout << "id: " << c.id << "\n"
                  << "status: " << to_string(c.status) << "\n"
                  << "subject_cn: " << c.subject_cn << "\n"
                  << "created: " << format_time(c.created) << "\n"
                  << "not_after: " << format_time(c.not_after) << "\n"
                  << "things: " << joined(c.things) << "\n"
                  << "policies: " << joined(c.policies) << "\n";
    } else {
        throw UsageError("cannot describe '" + what +
                         "'; use `describe thing NAME` or `describe cert CERT_ID`");
    }
}

}  // namespace localcore::cli
