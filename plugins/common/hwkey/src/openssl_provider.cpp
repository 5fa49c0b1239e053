#include <iotgw/plugins/common/openssl_error.hpp>
#include <iotgw/plugins/common/openssl_ptr.hpp>
#include <iotgw/plugins/hwkey/openssl_provider.hpp>

#include <iotgw/sdk.hpp>

#include <openssl/conf.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/provider.h>

#include <unistd.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>

namespace iotgw::plugins::hwkey {
namespace {

using common::openssl_reason;
using sdk::ConfigError;

std::mutex& registry_mutex() {
    static std::mutex m;
    return m;
}
// Provider name -> the configuration text it was loaded with.
std::map<std::string, std::string>& loaded() {
    static std::map<std::string, std::string> m;
    return m;
}

std::vector<int> version_parts(const std::string& v) {
    std::vector<int> out;
    std::stringstream ss(v);
    for (std::string part; std::getline(ss, part, '.');) out.push_back(std::atoi(part.c_str()));
    return out;
}

std::string config_text(const ProviderSetup& s, const std::string& module) {
    std::string t =
        "iotgw_init = iotgw_init_sect\n[iotgw_init_sect]\nproviders = iotgw_provider_sect\n"
        "[iotgw_provider_sect]\ndefault = iotgw_default_sect\n" +
        s.name + " = iotgw_" + s.name + "_sect\n[iotgw_default_sect]\nactivate = 1\n[iotgw_" + s.name +
        "_sect]\nmodule = " + module + "\n";
    for (const auto& [k, v] : s.params) t += k + " = " + v + "\n";
    t += "activate = 1\n";
    if (!s.identity.empty()) t += "# " + s.identity + "\n";
    return t;
}

std::string provider_version(OSSL_PROVIDER* p) {
    const char* v = nullptr;
    OSSL_PARAM req[] = {OSSL_PARAM_construct_utf8_ptr(OSSL_PROV_PARAM_VERSION, const_cast<char**>(&v), 0),
                        OSSL_PARAM_construct_end()};
    if (OSSL_PROVIDER_get_params(p, req) != 1 || v == nullptr) return "";
    return v;
}

struct ConfFree {
    void operator()(CONF* c) const noexcept { NCONF_free(c); }
};

}  // namespace

bool version_at_least(const std::string& have, const std::string& need) {
    auto h = version_parts(have), n = version_parts(need);
    const size_t len = std::max(h.size(), n.size());
    h.resize(len, 0);
    n.resize(len, 0);
    return h >= n;
}

std::string default_module_path(const std::string& name) {
    const char* env = std::getenv("OPENSSL_MODULES");
    const std::string dir = env != nullptr && *env != '\0' ? env : OpenSSL_version(OPENSSL_MODULES_DIR);
    std::string d = dir;
    // OpenSSL_version reports `MODULESDIR: "..."`.
    if (const auto q = d.find('"'); q != std::string::npos) {
        d = d.substr(q + 1);
        if (const auto e = d.find('"'); e != std::string::npos) d.resize(e);
    }
    return d + "/" + name + ".so";
}

bool provider_loaded(const ProviderSetup& s) {
    std::lock_guard lock(registry_mutex());
    return loaded().count(s.name) != 0;
}

void ensure_provider(const ProviderSetup& s) {
    const std::string module = s.module_path.empty() ? default_module_path(s.name) : s.module_path;
    const std::string text = config_text(s, module);
    std::lock_guard lock(registry_mutex());
    if (auto it = loaded().find(s.name); it != loaded().end()) {
        if (it->second == text) return;
        throw ConfigError(
            "the OpenSSL provider '" + s.name +
            "' is already loaded in this gateway with other settings (another instance of this "
            "plugin uses another module, token, TPM or PIN): all instances must use the same ones");
    }
    if (::access(module.c_str(), R_OK) != 0)
        throw ConfigError("the OpenSSL provider '" + s.name + "' is not installed: " + module +
                          " does not exist (install the Debian package " + s.package + ")");

    ERR_clear_error();
    common::BioPtr bio = common::memory_reader(text);
    std::unique_ptr<CONF, ConfFree> conf(NCONF_new_ex(nullptr, nullptr));
    long bad_line = 0;
    if (!bio || !conf || NCONF_load_bio(conf.get(), bio.get(), &bad_line) != 1)
        throw ConfigError("cannot build the OpenSSL configuration for provider '" + s.name + "' (line " +
                          std::to_string(bad_line) + "): " + openssl_reason());
    if (CONF_modules_load(conf.get(), "iotgw_init", 0) <= 0)
        throw ConfigError("the OpenSSL provider '" + s.name + "' (" + module +
                          ") does not load: " + openssl_reason());
    if (OSSL_PROVIDER_available(nullptr, s.name.c_str()) != 1 ||
        OSSL_PROVIDER_available(nullptr, "default") != 1)
        throw ConfigError("the OpenSSL provider '" + s.name + "' did not activate: " + openssl_reason());

    if (!s.min_version.empty()) {
        OSSL_PROVIDER* p = OSSL_PROVIDER_load(nullptr, s.name.c_str());  // a reference to the loaded one
        const std::string version = p != nullptr ? provider_version(p) : "";
        if (p != nullptr) OSSL_PROVIDER_unload(p);
        if (!version_at_least(version, s.min_version))
            throw ConfigError("the OpenSSL provider '" + s.name + "' (" + module + ") is version " +
                              (version.empty() ? "unknown" : version) + "; at least " + s.min_version +
                              " is needed (older ones fail TLS with a hardware key): install a newer " +
                              s.package);
    }
    loaded()[s.name] = text;
}

}  // namespace iotgw::plugins::hwkey
