// The gateway's own configuration, for a job handler that replaces it (ABI 1.3; the `config`
// handler is the in-tree one): check a TOML text as `iotgw check` does, apply it on trial, ask
// where it stands, confirm it. See iotgw_host_api.config_apply for the trial's rules.
#pragma once

#include <iotgw/plugin_abi.h>
#include <iotgw/sdk/errors.hpp>
#include <iotgw/sdk/host.hpp>
#include <iotgw/sdk/host_api.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

// Not "namespace iotgw::sdk": GCC rejects attributes on a nested namespace definition.
namespace iotgw {
namespace [[gnu::visibility("hidden")]] sdk {

enum class ConfigTrial : uint32_t {
    none = IOTGW_CONFIG_TRIAL_NONE,
    pending = IOTGW_CONFIG_TRIAL_PENDING,
    confirmed = IOTGW_CONFIG_TRIAL_CONFIRMED,
    rolled_back = IOTGW_CONFIG_TRIAL_ROLLED_BACK,
};

// Whether this gateway's host table has the calls (a gateway started without --remote-config
// has them and answers IOTGW_ERR_UNSUPPORTED).
inline bool host_can_apply_config() noexcept {
    return IOTGW_HOST_HAS(config_confirm) && detail::host_api().config_confirm != nullptr;
}

namespace detail {
inline void require_config_calls() {
    if (!host_can_apply_config())
        throw Error("this gateway is older than the remote configuration calls", IOTGW_ERR_UNSUPPORTED);
}
inline void add_problem(void* user, const char* line) noexcept {
    try {
        static_cast<std::vector<std::string>*>(user)->emplace_back(line != nullptr ? line : "");
    } catch (...) {  // out of memory: the count is still non-zero through the return code
    }
}
}  // namespace detail

// The problems of `toml` as "file:line:column: message" lines; empty when it is valid. Throws
// Error when the gateway cannot check (no remote configuration file: IOTGW_ERR_UNSUPPORTED).
inline std::vector<std::string> check_config(const Host& host, std::string_view toml) {
    detail::require_config_calls();
    std::vector<std::string> problems;
    iotgw_error err{};
    const int rc = detail::host_api().config_check(host.get(), toml.data(), toml.size(), &detail::add_problem,
                                                   &problems, &err);
    if (rc != IOTGW_OK && rc != IOTGW_ERR_CONFIG) throw Error(err.message, rc);
    if (rc == IOTGW_ERR_CONFIG && problems.empty()) problems.emplace_back(err.message);
    return problems;
}

// Applies `toml` on trial for job `job_id` (the gateway reloads after this returns). Returns its
// problems, empty when it was applied; throws Error when it could not be written or applied.
inline std::vector<std::string> apply_config(const Host& host, const std::string& job_id,
                                             std::string_view toml, std::chrono::milliseconds trial) {
    detail::require_config_calls();
    std::vector<std::string> problems;
    iotgw_error err{};
    const int rc = detail::host_api().config_apply(host.get(), job_id.c_str(), toml.data(), toml.size(),
                                                   trial.count(), &detail::add_problem, &problems, &err);
    if (rc != IOTGW_OK && rc != IOTGW_ERR_CONFIG) throw Error(err.message, rc);
    if (rc == IOTGW_ERR_CONFIG && problems.empty()) problems.emplace_back(err.message);
    return problems;
}

// Where job `job_id`'s configuration stands; `reason` is set for a rollback.
inline ConfigTrial config_trial(const Host& host, const std::string& job_id, std::string& reason) {
    detail::require_config_calls();
    uint32_t state = IOTGW_CONFIG_TRIAL_NONE;
    iotgw_error why{};
    if (int rc = detail::host_api().config_trial(host.get(), job_id.c_str(), &state, &why); rc != IOTGW_OK)
        throw Error(why.message, rc);
    reason = why.message;
    return static_cast<ConfigTrial>(state);
}

// Keeps job `job_id`'s configuration. Throws Error when it is not on trial.
inline void confirm_config(const Host& host, const std::string& job_id) {
    detail::require_config_calls();
    iotgw_error err{};
    if (int rc = detail::host_api().config_confirm(host.get(), job_id.c_str(), &err); rc != IOTGW_OK)
        throw Error(err.message, rc);
}

}  // namespace sdk
}  // namespace iotgw
