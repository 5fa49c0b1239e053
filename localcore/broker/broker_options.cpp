#include "broker_options.hpp"

#include "mosquitto_api.hpp"


#include <charconv>
#include <set>
#include <string_view>

#include "atomic_file.hpp"
#include "ca.hpp"

namespace localcore::broker {
namespace {

const std::set<std::string_view> kKnown = {
    "data_dir",         "provisioning_templates", "region",           "account_id",
    "mqtt311_unauthorized", "device_cert_lifetime", "ownership_token_ttl", "registry_poll_ms",
    "publish_rate_per_second", "max_websocket_connection_s", "shadow_requests_per_second",
};

std::size_t parse_count(std::string_view key, std::string_view value, long min, long max) {
    long n = 0;
    const auto* end = value.data() + value.size();
    const auto [ptr, ec] = std::from_chars(value.data(), end, n);
    if (ec != std::errc() || ptr != end || n < min || n > max)
        throw Error("plugin_opt_" + std::string(key) + " '" + std::string(value) + "' is not a number from " +
                    std::to_string(min) + " to " + std::to_string(max) + "; fix the mosquitto.conf line");
    return static_cast<std::size_t>(n);
}

}  // namespace

BrokerOptions parse_broker_options(const mosquitto_opt* options, int count) {
    BrokerOptions out;
#ifdef LOCALCORE_TEMPLATE_DIR
    out.templates_dir = LOCALCORE_TEMPLATE_DIR;
#endif
    for (int i = 0; i < count; ++i) {
        const std::string_view key = options[i].key ? options[i].key : "";
        const std::string_view value = options[i].value ? options[i].value : "";
        if (!kKnown.contains(key)) {
            std::string known;
            for (auto k : kKnown) known += (known.empty() ? "" : ", ") + std::string("plugin_opt_") + std::string(k);
            throw Error("unknown option plugin_opt_" + std::string(key) + "; the localcore plugin knows " + known);
        }
        try {
            if (key == "data_dir") {
                out.data_dir = std::string(value);
            } else if (key == "provisioning_templates") {
                out.templates_dir = std::string(value);
            } else if (key == "region") {
                out.region = std::string(value);
            } else if (key == "account_id") {
                out.account_id = std::string(value);
            } else if (key == "mqtt311_unauthorized") {
                if (value == "disconnect")
                    out.mqtt311_denial = Mqtt311Denial::disconnect;
                else if (value == "suback_failure")
                    out.mqtt311_denial = Mqtt311Denial::suback_failure;
                else
                    throw Error("plugin_opt_mqtt311_unauthorized '" + std::string(value) +
                                "' is not one of disconnect, suback_failure");
            } else if (key == "device_cert_lifetime") {
                out.device_cert_lifetime = parse_lifetime(value);
            } else if (key == "ownership_token_ttl") {
                out.ownership_token_ttl = parse_lifetime(value);
            } else if (key == "registry_poll_ms") {
                out.registry_poll = std::chrono::milliseconds(parse_count(key, value, 10, 5000));
            } else if (key == "max_websocket_connection_s") {
                // Up to AWS's 24 h: a longer cap would no longer emulate AWS.
                out.max_websocket_connection = std::chrono::seconds(parse_count(key, value, 1, 24 * 3600));
            } else if (key == "publish_rate_per_second") {
                out.publish_rate_per_second = static_cast<int>(parse_count(key, value, 1, 100000));
            } else if (key == "shadow_requests_per_second") {
                // 0: unlimited, for tests of other behaviour that send bursts.
                out.shadow_requests_per_second = static_cast<unsigned>(parse_count(key, value, 0, 100000));
            }
        } catch (const Error& e) {
            const std::string what = e.what();
            if (what.starts_with("plugin_opt_")) throw;
            throw Error("plugin_opt_" + std::string(key) + ": " + what);
        }
    }
    if (out.data_dir.empty())
        throw Error("plugin_opt_data_dir is missing; add `plugin_opt_data_dir <dir>` (the directory of "
                    "`localcore init`), or generate the file with `localcore mosquitto-conf`");
    std::error_code ec;
    if (!std::filesystem::is_regular_file(out.data_dir / "ca" / "ca.pem", ec))
        throw Error("plugin_opt_data_dir " + out.data_dir.string() + " has no ca/ca.pem; run `localcore --data " +
                    out.data_dir.string() + " init` first");
    return out;
}

}  // namespace localcore::broker
