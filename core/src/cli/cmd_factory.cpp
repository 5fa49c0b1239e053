// `iotgw factory claim-csr` and `iotgw factory claim-install`: the factory step of a device with
// its own claim certificate (docs/factory.md).
//
// The claim key is made by the claim credentials' provider in its pending slot (file: a 0600
// PEM; tpm, pkcs11: inside the hardware), so it never leaves the device; the CSR names the thing.
// The CSR is also kept next to the pending key ("<key>.pending.csr"): a second claim-csr prints
// the same request instead of making a second key, so re-running the factory step can never
// give a device a second identity. claim-install stores the issued certificate for the pending
// key and promotes the pair; re-running it with the installed certificate changes nothing.
#include "claim_store.hpp"
#include "cli.hpp"
#include "factory_files.hpp"

#include <iotgw/core/config_value.hpp>
#include <iotgw/core/gateway.hpp>
#include <iotgw/core/plugin_registry.hpp>


#include <ctime>
#include <optional>
#include <iostream>
#include <stdexcept>
#include <variant>

namespace iotgw::cli {
namespace {

using factory::ActAsOwnerOf;
using factory::ClaimStore;

constexpr const char* kProvisioningPlugin = "fleet_provisioning";

// What the factory step works on, from the validated config.
struct ClaimTarget {
    std::string thing;
    std::string instance;  // the claim credentials instance
    std::string cert;      // its `cert` and `key` paths (absolute)
    std::string key;
    std::string key_pending() const { return key + ".pending"; }
    std::string kept_csr() const { return key + ".pending.csr"; }
};

struct Refusal : std::runtime_error {
    Refusal(int code, const std::string& what) : std::runtime_error(what), exit_code(code) {}
    int exit_code;
};

std::string string_value(const core::InstanceConfig& ic, const std::string& key) {
    auto it = ic.config->values.find(key);
    if (it == ic.config->values.end()) return "";
    const auto* s = std::get_if<std::string>(&it->second.data);
    return s != nullptr ? *s : "";
}

ClaimTarget find_target(const core::GatewayConfig& config) {
    const std::string file = config.file.string();
    std::string claim;
    for (const auto& ic : config.instances) {
        if (ic.type != kProvisioningPlugin) continue;
        const std::string named = string_value(ic, "claim_credentials");
        if (!claim.empty() && named != claim)
            throw Refusal(kExitConfig,
                          file + ": the fleet_provisioning instances name different claim credentials ('" +
                              claim + "', '" + named + "'): the factory step needs exactly one");
        claim = named;
    }
    if (claim.empty())
        throw Refusal(kExitConfig,
                      file +
                          ": no [sources.*] instance of type \"fleet_provisioning\": the factory "
                          "step makes the key of the credentials its `claim_credentials` names");
    ClaimTarget t;
    t.thing = config.gateway.thing;
    if (t.thing.empty())
        throw Refusal(kExitConfig,
                      file + ": [gateway] thing is not set: the claim certificate names the thing");
    t.instance = claim;
    const core::InstanceConfig* ic = config.instance(claim);
    if (ic == nullptr) throw Refusal(kExitConfig, file + ": no credentials instance named '" + claim + "'");
    t.cert = string_value(*ic, "cert");
    t.key = string_value(*ic, "key");
    if (t.cert.empty() || t.key.empty())
        throw Refusal(kExitConfig,
                      ic->where.str() + ": the claim credentials '" + claim + "' (plugin '" + ic->type +
                          "') have no `cert` and `key` files; the factory step supports the providers "
                          "that keep their pairs there (file, tpm, pkcs11)");
    return t;
}

// Loads and checks the config like `iotgw check`: every problem with file:line, nothing made.
core::GatewayConfig load_checked(const Options& o, core::PluginRegistry& registry) {
    const auto& file = o.configs.front();
    core::Diagnostics diags;
    // Errors only: a claim certificate that does not exist yet is expected here.
    auto config = load_and_check(file, o, registry, diags, IOTGW_LOG_ERROR);
    print_diagnostics(diags);
    if (diags.has_errors())
        throw Refusal(kExitConfig, file.string() + ": invalid: " + std::to_string(diags.error_count()) +
                                       " error(s); nothing was changed");
    return std::move(*config);
}

void start_store(ClaimStore& store, const ClaimTarget& t) {
    std::string error;
    if (!store.start(error))
        throw Refusal(kExitFailure, "cannot start the claim credentials '" + t.instance + "': " + error);
}

// The installed claim certificate, when the provider hands out a valid pair for this thing.
std::optional<factory::CertInfo> installed_for_thing(ClaimStore& store, const ClaimTarget& t) {
    // Nothing installed yet: do not even ask (the provider would log the missing files).
    if (!factory::file_exists(t.cert)) return std::nullopt;
    const factory::CurrentCredentials now = store.current();
    if (!now.usable) return std::nullopt;
    factory::CertInfo cert = factory::parse_chain(factory::read_file(now.cert_path), now.cert_path);
    if (cert.common_name != t.thing)
        throw Refusal(kExitFailure, "the claim credentials '" + t.instance +
                                        "' already hold a certificate for '" + cert.common_name + "' (" +
                                        now.cert_path + "), not for the thing '" + t.thing +
                                        "': is this the right config for this device? Nothing was changed");
    return cert;
}

void write_out(const std::string& path, const std::string& content) {
    factory::write_file_durably(path, content, 0644);
}

int claim_csr(const Options& o) {
    core::PluginRegistry registry(core::host_api_table());
    const core::GatewayConfig config = load_checked(o, registry);
    const ClaimTarget t = find_target(config);

    std::string csr_pem;
    {
        ActAsOwnerOf owner(factory::dir_of_path(t.key));
        ClaimStore store(registry, config, t.instance, o.log_level.value_or(IOTGW_LOG_ERROR));
        start_store(store, t);
        if (auto cert = installed_for_thing(store, t)) {
            std::cout << "claim certificate for " << t.thing << " already installed (" << t.cert
                      << ", serial " << cert->serial_hex << ", valid until "
                      << factory::iso8601_utc(cert->not_after) << "); nothing to do\n";
            return kExitOk;
        }
        if (factory::file_exists(t.key_pending())) {
            // A key made by an earlier claim-csr: the same request again, never a second key.
            if (!factory::file_exists(t.kept_csr()))
                throw Refusal(
                    kExitFailure,
                    "a pending key " + t.key_pending() + " exists but its request " + t.kept_csr() +
                        " does not (claim-csr was interrupted, or the key was made by something else): it "
                        "is not overwritten. If no request for it was ever sent out, remove " +
                        t.key_pending() + " and run claim-csr again");
            const factory::CsrInfo kept = factory::parse_csr(factory::read_file(t.kept_csr()), t.kept_csr());
            if (kept.common_name != t.thing)
                throw Refusal(kExitFailure, "the pending key's request " + t.kept_csr() + " names '" +
                                                kept.common_name + "', not the thing '" + t.thing +
                                                "': nothing was changed");
            if (factory::csr_matches_key(kept.pem, t.key_pending()) == factory::KeyMatch::different)
                throw Refusal(kExitFailure, "the request " + t.kept_csr() +
                                                " does not belong to the pending key " + t.key_pending() +
                                                ": nothing was changed");
            csr_pem = kept.pem;
            std::cout << "reusing the pending claim key " << t.key_pending() << " made earlier\n";
        } else {
            const factory::RenewalResult r = store.renew(IOTGW_RENEWAL_CREATE_KEY, t.thing);
            if (!r.ok())
                throw Refusal(kExitFailure, "the claim credentials '" + t.instance + "': " + r.error);
            csr_pem = factory::parse_csr(r.output, "the provider's request").pem;
            factory::write_file_durably(t.kept_csr(), csr_pem, 0644);
            std::cout << "made the claim key " << t.key_pending() << " for " << t.thing << "\n";
        }
    }
    write_out(o.out.string(), csr_pem);
    std::cout << "wrote the claim certificate request (CN=" << t.thing << ") to " << o.out.string() << "\n";
    return kExitOk;
}

int claim_install(const Options& o) {
    core::PluginRegistry registry(core::host_api_table());
    const core::GatewayConfig config = load_checked(o, registry);
    const ClaimTarget t = find_target(config);

    const std::string cert_file = o.cert.string();
    const factory::CertInfo cert = factory::parse_chain(factory::read_file(cert_file), cert_file);
    if (cert.common_name != t.thing)
        throw Refusal(kExitFailure, cert_file + " is a certificate for '" + cert.common_name +
                                        "', not for the thing '" + t.thing + "': nothing was installed");
    const int64_t now = static_cast<int64_t>(std::time(nullptr));
    if (now > cert.not_after || now < cert.not_before)
        throw Refusal(kExitFailure, cert_file + " is valid from " + factory::iso8601_utc(cert.not_before) +
                                        " to " + factory::iso8601_utc(cert.not_after) + ", not now (" +
                                        factory::iso8601_utc(now) +
                                        "; is the clock right?): nothing was installed");

    ActAsOwnerOf owner(factory::dir_of_path(t.key));
    ClaimStore store(registry, config, t.instance, o.log_level.value_or(IOTGW_LOG_ERROR));
    start_store(store, t);
    if (auto installed = installed_for_thing(store, t)) {
        if (installed->der == cert.der) {
            factory::remove_file_durably(t.kept_csr());  // left over if the last run stopped right here
            std::cout << "the claim certificate " << cert_file << " is already installed as " << t.cert
                      << "; nothing to do\n";
            return kExitOk;
        }
        if (!factory::file_exists(t.key_pending()))
            throw Refusal(kExitFailure, "the claim credentials already hold another certificate for " +
                                            t.thing + " (serial " + installed->serial_hex +
                                            ") and there is no pending key " + t.key_pending() + " that " +
                                            cert_file + " could belong to: nothing was installed");
    }
    if (!factory::file_exists(t.key_pending()))
        throw Refusal(kExitFailure, "there is no pending claim key " + t.key_pending() +
                                        ": run `iotgw factory claim-csr` first; nothing was installed");
    const factory::RenewalResult stored = store.renew(IOTGW_RENEWAL_STORE_CERT, cert.chain_pem);
    if (!stored.ok()) throw Refusal(kExitFailure, cert_file + " was not installed: " + stored.error);
    const factory::RenewalResult promoted = store.renew(IOTGW_RENEWAL_PROMOTE, "");
    if (!promoted.ok())
        throw Refusal(kExitFailure, cert_file + " was stored as pending but not installed: " +
                                        promoted.error + " (run claim-install again)");
    factory::remove_file_durably(t.kept_csr());
    std::cout << "installed the claim certificate for " << t.thing << " (serial " << cert.serial_hex
              << ", valid until " << factory::iso8601_utc(cert.not_after) << ") as " << t.cert
              << " with its key " << t.key << "\n";
    return kExitOk;
}

}  // namespace

int factory_command(const Options& o) {
    try {
        if (o.factory_step == "claim-csr") return claim_csr(o);
        if (o.factory_step == "claim-install") return claim_install(o);
        std::cerr << "iotgw: unknown factory step '" << o.factory_step
                  << "': use claim-csr or claim-install\n";
        return kExitUsage;
    } catch (const Refusal& e) {
        std::cerr << "iotgw factory " << o.factory_step << ": " << e.what() << "\n";
        return e.exit_code;
    } catch (const std::exception& e) {
        std::cerr << "iotgw factory " << o.factory_step << ": " << e.what() << "\n";
        return kExitFailure;
    }
}

}  // namespace iotgw::cli
