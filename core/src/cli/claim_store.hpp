// The claim credentials instance of a config, started on its own for `iotgw factory`, and the
// host API's renewal operations on it, run to completion one at a time.
//
// The key is made and kept by the configured provider (file, tpm, pkcs11) exactly as when
// fleet_provisioning renews production credentials: the factory step reaches the provider through
// an in-process instance ("factory_agent") that depends on it, so it uses the same host calls
// (credentials_renew, get_credentials) and the provider's own checks and crash-safe slots.
#pragma once

#include <utility>  // before Asio, see gateway.hpp

#include <iotgw/plugin_abi.h>
#include <iotgw/core/gateway.hpp>
#include <iotgw/core/gateway_config.hpp>
#include <iotgw/core/log.hpp>
#include <iotgw/core/plugin_registry.hpp>

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <string>

namespace iotgw::cli::factory {

struct RenewalResult {
    int status = IOTGW_OK;
    std::string output;  // create key: the CSR PEM
    std::string error;
    bool ok() const noexcept { return status == IOTGW_OK; }
};

struct CurrentCredentials {
    bool usable = false;
    std::string why_not;  // the provider's reason when not usable
    std::string cert_path;
    int64_t not_after = 0;
};

class ClaimStore {
public:
    // `config`: the validated full config; only `claim_instance` of it is started. Its
    // `await_provisioning` (if the plugin has one) is set for this run: a device at the factory
    // has no claim certificate yet, which is the point.
    ClaimStore(core::PluginRegistry& registry, const core::GatewayConfig& config,
               const std::string& claim_instance, int log_level);
    ~ClaimStore();
    ClaimStore(const ClaimStore&) = delete;
    ClaimStore& operator=(const ClaimStore&) = delete;

    // Creates and starts the claim instance; false with `error` when it refuses.
    bool start(std::string& error);

    // What the provider hands out now (it checks the pair and the dates itself).
    CurrentCredentials current();

    // One renewal operation (IOTGW_RENEWAL_*), waited for.
    RenewalResult renew(uint32_t op, const std::string& input);

private:
    boost::asio::io_context io_;
    core::Logger log_;
    core::Gateway gateway_;
    core::GatewayConfig config_;
    std::string claim_;
};

}  // namespace iotgw::cli::factory
