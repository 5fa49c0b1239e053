// Config schema of the `file` credentials plugin.
#pragma once

#include <iotgw/sdk.hpp>

namespace iotgw::plugins::file {

using iotgw::sdk::Field;

inline constexpr iotgw_config_field kFields[] = {
    Field::path("cert", "PEM certificate chain of the device: leaf first, then intermediates.").required(),
    Field::path("key", "PEM private key of the certificate, unencrypted, mode 0600 or 0400.").required(),
    Field::path("ca", "PEM trust anchors that verify the server (e.g. AmazonRootCA1.pem); "
                      "unset: the system trust store."),
    Field::duration("expiry_warning", "Warn when the certificate expires within this time.")
        .with_default("\"30d\"")
        .at_least(0),
    Field::boolean("await_provisioning",
                   "Start even when neither `cert` nor `key` exists yet, or the certificate is expired "
                   "or not yet valid: a provisioning plugin (e.g. fleet_provisioning) creates or replaces "
                   "them. Connections using this instance wait until then.")
        .with_default("false"),
};

}  // namespace iotgw::plugins::file
