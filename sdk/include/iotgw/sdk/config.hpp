// Typed read access to an instance's configuration. The core has already validated every value
// against the plugin's schema and filled in defaults, so a missing or mistyped key here is a
// mismatch between the schema and the code that reads it: it throws with the key's name.
#pragma once

#include <iotgw/plugin_abi.h>
#include <iotgw/sdk/errors.hpp>
#include <iotgw/sdk/host_api.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

// Not "namespace iotgw::sdk": GCC rejects attributes on a nested namespace definition.
namespace iotgw {
namespace [[gnu::visibility("hidden")]] sdk {

class Config {
public:
    explicit Config(const iotgw_config* cfg) noexcept : cfg_(cfg) {}

    // The host answers IOTGW_ERR_TYPE (not NOT_FOUND) for a key that exists with another type,
    // so one probe tells presence for every type.
    bool has(const char* key) const {
        const char* s = nullptr;
        size_t n = 0;
        return api().config_string(cfg_, key, &s, &n) != IOTGW_ERR_NOT_FOUND;
    }

    std::string string(const char* key) const {
        auto v = optional_string(key);
        if (!v) missing(key, "string");
        return *v;
    }

    std::optional<std::string> optional_string(const char* key) const {
        const char* s = nullptr;
        size_t n = 0;
        int rc = api().config_string(cfg_, key, &s, &n);
        if (rc == IOTGW_ERR_NOT_FOUND) return std::nullopt;
        check(rc, key, "string");
        return std::string(s, n);
    }

    int64_t integer(const char* key) const {
        int64_t v = 0;
        check(api().config_int(cfg_, key, &v), key, "integer");
        return v;
    }

    double number(const char* key) const {
        double v = 0;
        check(api().config_double(cfg_, key, &v), key, "float");
        return v;
    }

    bool boolean(const char* key) const {
        int v = 0;
        check(api().config_bool(cfg_, key, &v), key, "boolean");
        return v != 0;
    }

    std::chrono::milliseconds duration(const char* key) const {
        int64_t v = 0;
        check(api().config_duration_ms(cfg_, key, &v), key, "duration");
        return std::chrono::milliseconds(v);
    }

    std::vector<std::string> strings(const char* key) const {
        size_t n = 0;
        int rc = api().config_array_size(cfg_, key, &n);
        if (rc == IOTGW_ERR_NOT_FOUND) return {};
        check(rc, key, "array of strings");
        std::vector<std::string> out;
        out.reserve(n);
        for (size_t i = 0; i < n; ++i) {
            const char* s = nullptr;
            size_t len = 0;
            check(api().config_array_string(cfg_, key, i, &s, &len), key, "array of strings");
            out.emplace_back(s, len);
        }
        return out;
    }

    std::vector<std::pair<std::string, std::string>> map(const char* key) const {
        size_t n = 0;
        int rc = api().config_map_size(cfg_, key, &n);
        if (rc == IOTGW_ERR_NOT_FOUND) return {};
        check(rc, key, "table of strings");
        std::vector<std::pair<std::string, std::string>> out;
        out.reserve(n);
        for (size_t i = 0; i < n; ++i) {
            const char* k = nullptr;
            const char* v = nullptr;
            check(api().config_map_entry(cfg_, key, i, &k, &v), key, "table of strings");
            out.emplace_back(k, v);
        }
        return out;
    }

    const iotgw_config* get() const noexcept { return cfg_; }

private:
    static const iotgw_host_api& api() { return detail::host_api(); }

    [[noreturn]] static void missing(const char* key, const char* type) {
        throw Error(std::string("config key '") + key + "' (" + type +
                    ") is read by the plugin but has no value and no default: declare a default "
                    "in the schema or mark it required");
    }

    static void check(int rc, const char* key, const char* type) {
        if (rc == IOTGW_OK) return;
        if (rc == IOTGW_ERR_NOT_FOUND) missing(key, type);
        throw Error(std::string("config key '") + key + "' is not a " + type +
                    ": the plugin reads it with another type than its schema declares");
    }

    const iotgw_config* cfg_;
};

}  // namespace sdk
}  // namespace iotgw
