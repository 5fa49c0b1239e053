// Loading a key provider (tpm2, pkcs11) into the process's default OpenSSL library context, the one
// paho's SSL_CTX_use_PrivateKey_file decodes the key path with. The configuration is the gateway's
// own (built in memory, never /etc/ssl/openssl.cnf) and activates `default` FIRST: once any provider
// is loaded explicitly OpenSSL no longer loads `default` by itself, and without it there is no TLS.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace iotgw::plugins::hwkey {

struct ProviderSetup {
    std::string name;         // provider name in OpenSSL: "tpm2", "pkcs11"
    std::string module_path;  // the provider's .so; empty: <OpenSSL modules dir>/<name>.so
    std::vector<std::pair<std::string, std::string>> params;  // its section's settings
    std::string min_version;  // e.g. "1.2.0": refuse an older provider (its "version" parameter)
    std::string package;      // the Debian package that ships it, for the error message
    std::string identity;     // settings passed outside the config (environment), compared like params
};

// The provider's .so under OpenSSL's modules directory (OPENSSL_MODULES when set).
std::string default_module_path(const std::string& name);

// Loads and activates `setup` (and `default` before it) once per process. A second call with the
// same setup does nothing; one with different settings for an already loaded provider is refused,
// since a provider's settings cannot change while keys from it are in use. Throws sdk::ConfigError
// naming what is missing: the module file, a too old version, or OpenSSL's reason.
void ensure_provider(const ProviderSetup& setup);

// Whether ensure_provider has loaded a provider of this name in this process.
bool provider_loaded(const ProviderSetup& setup);

// "1.3.0" >= "1.2" etc.; non-numeric parts compare as 0.
bool version_at_least(const std::string& have, const std::string& need);

}  // namespace iotgw::plugins::hwkey
