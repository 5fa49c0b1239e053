// Config schema of the `pkcs11` credentials plugin (a key on a PKCS#11 token / secure element).
#pragma once

#include <iotgw/sdk.hpp>

namespace iotgw::plugins::pkcs11 {

using iotgw::sdk::Field;

inline constexpr iotgw_config_field kFields[] = {
    Field::path("cert", "PEM certificate chain of the device: leaf first, then intermediates.").required(),
    Field::path("key",
                "Reference to the key on the token: a \"PKCS#11 PROVIDER URI\" PEM the plugin writes "
                "when it generates the key (no secret in it).")
        .required(),
    Field::path("ca", "PEM trust anchors that verify the server; unset: the system trust store."),
    Field::path("module",
                "The token's PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so, or the secure "
                "element vendor's library).")
        .required(),
    Field::string("token", "Label of the token that holds (and generates) the keys.").required(),
    Field::path("pin_file",
                "File with the user PIN on its first line; mode 0600 or 0400, owned by the user the "
                "gateway runs as. Either this or `pin_credential`."),
    Field::string("pin_credential",
                  "Name of a systemd credential (LoadCredential=/SetCredentialEncrypted=) "
                  "holding the PIN: read from $CREDENTIALS_DIRECTORY/<name>."),
    Field::string("key_type", "Type of the keys generated on the token.")
        .with_default("\"ec-p256\"")
        .one_of("ec-p256|rsa-2048"),
    Field::string("quirks", "pkcs11-provider workarounds for the module (`pkcs11-module-quirks`).")
        .with_default("\"no-deinit no-operation-state\""),
    Field::path("provider",
                "pkcs11-provider's OpenSSL module; unset: pkcs11.so in OpenSSL's modules directory."),
    Field::boolean(
        "await_provisioning",
        "Start even when neither `cert` nor `key` exists yet: fleet_provisioning generates the key on "
        "the token on first boot.")
        .with_default("false"),
};

}  // namespace iotgw::plugins::pkcs11
