// Config schema of the `tpm` credentials plugin (a key inside a TPM 2.0).
#pragma once

#include <iotgw/sdk.hpp>

namespace iotgw::plugins::tpm {

using iotgw::sdk::Field;

inline constexpr iotgw_config_field kFields[] = {
    Field::path("cert", "PEM certificate chain of the device: leaf first, then intermediates.").required(),
    Field::path("key",
                "The key as a \"TSS2 PRIVATE KEY\" PEM, written by the plugin when it generates the key "
                "in the TPM (its private part is encrypted by the TPM and useless elsewhere).")
        .required(),
    Field::path("ca", "PEM trust anchors that verify the server; unset: the system trust store."),
    Field::string("tcti",
                  "How to reach the TPM (tpm2-tss TCTI): the kernel's resource manager, or e.g. "
                  "\"swtpm:host=127.0.0.1,port=2321\" for a software TPM.")
        .with_default("\"device:/dev/tpmrm0\""),
    Field::string("parent", "Handle of the persistent primary (storage) key new keys are created under.")
        .with_default("\"0x81000001\""),
    Field::string("key_type", "Type of the keys generated in the TPM.")
        .with_default("\"ec-p256\"")
        .one_of("ec-p256|rsa-2048"),
    Field::path("provider", "tpm2-openssl's OpenSSL module; unset: tpm2.so in OpenSSL's modules directory."),
    Field::boolean(
        "await_provisioning",
        "Start even when neither `cert` nor `key` exists yet: fleet_provisioning generates the key in "
        "the TPM on first boot.")
        .with_default("false"),
};

}  // namespace iotgw::plugins::tpm
