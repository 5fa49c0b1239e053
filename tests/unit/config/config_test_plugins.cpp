#include "config_test_plugins.hpp"

#include <iotgw/sdk.hpp>

#include <iterator>

namespace iotgw::test {

namespace {

using sdk::Field;

class FileCredentials : public sdk::CredentialsProvider {
public:
    FileCredentials(sdk::Host h, const sdk::Config&) : CredentialsProvider(h) {}
    sdk::Credentials credentials() override { return {}; }
};
class Mqtt : public sdk::Connection {
public:
    Mqtt(sdk::Host h, const sdk::Config&) : Connection(h) {}
};
class Tick : public sdk::Source {
public:
    Tick(sdk::Host h, const sdk::Config&) : Source(h) {}
};
class Every : public sdk::Source {
public:
    Every(sdk::Host h, const sdk::Config&) : Source(h) {}
};
class Listener : public sdk::Source {
public:
    static constexpr bool accepts_messages = true;
    Listener(sdk::Host h, const sdk::Config&) : Source(h) {}
};
class Filter : public sdk::Processor {
public:
    Filter(sdk::Host h, const sdk::Config&) : Processor(h) {}
};
class Console : public sdk::Sink {
public:
    Console(sdk::Host h, const sdk::Config&) : Sink(h) {}
};

constexpr iotgw_config_field kFileFields[] = {
    Field::path("cert", "certificate chain").required(),
    Field::path("key", "private key").required().secret(),
};
constexpr iotgw_config_field kMqttFields[] = {
    Field::string("endpoint", "broker host").required(),
    Field::integer("port", "broker port").with_default("8883").at_least(1).at_most(65535),
    Field::ref("credentials", IOTGW_KIND_CREDENTIALS, "credentials instance"),
};
constexpr iotgw_config_field kTickFields[] = {
    Field::duration("interval", "period").with_default("\"1s\"").at_least(100),
    Field::string("payload", "message body").with_default("\"beat\""),
};
constexpr iotgw_config_field kEveryFields[] = {
    Field::string("label", "a required string").required(),
    Field::integer("count", "0..100").at_least(0).at_most(100),
    Field::number("ratio", "0..1").at_least(0).at_most(1),
    Field::boolean("enabled", "a flag").with_default("true"),
    Field::duration("period", "100ms..1h").at_least(100).at_most(3'600'000),
    Field::strings("tags", "1..3 tags").at_least(1).at_most(3),
    Field::string("mode", "a choice").one_of("fast|slow"),
    Field::map("headers", "string table"),
    Field::path("file", "a path"),
    Field::path("data_dir", "a path with a default").with_default("\"data\""),
    Field::ref("creds", IOTGW_KIND_CREDENTIALS, "credentials"),
    Field::ref("peer", static_cast<iotgw_kind>(0), "any instance"),
    Field::refs("links", IOTGW_KIND_CONNECTION, "connections"),
};
constexpr iotgw_config_field kFilterFields[] = {
    Field::string("pattern", "what passes").with_default("\"*\""),
};
constexpr iotgw_config_field kConsoleFields[] = {
    Field::string("prefix", "line prefix").with_default("\"\""),
};

template <class T>
constexpr sdk::PluginInfo info(const char* name, std::span<const iotgw_config_field> fields) {
    return {.abi_major = 1, .abi_minor = 0, .name = name, .version = "1.0.0", .description = name, .fields = fields};
}

const iotgw_plugin_descriptor* file_entry(const iotgw_host_api* h) {
    static const sdk::PluginInfo i = info<FileCredentials>("file", kFileFields);
    return sdk::detail::entry<FileCredentials>(h, i);
}
const iotgw_plugin_descriptor* mqtt_entry(const iotgw_host_api* h) {
    static const sdk::PluginInfo i = info<Mqtt>("mqtt", kMqttFields);
    return sdk::detail::entry<Mqtt>(h, i);
}
const iotgw_plugin_descriptor* tick_entry(const iotgw_host_api* h) {
    static const sdk::PluginInfo i = info<Tick>("tick", kTickFields);
    return sdk::detail::entry<Tick>(h, i);
}
const iotgw_plugin_descriptor* every_entry(const iotgw_host_api* h) {
    static const sdk::PluginInfo i = info<Every>("every", kEveryFields);
    return sdk::detail::entry<Every>(h, i);
}
const iotgw_plugin_descriptor* listener_entry(const iotgw_host_api* h) {
    static const sdk::PluginInfo i = info<Listener>("listener", {});
    return sdk::detail::entry<Listener>(h, i);
}
const iotgw_plugin_descriptor* filter_entry(const iotgw_host_api* h) {
    static const sdk::PluginInfo i = info<Filter>("filter", kFilterFields);
    return sdk::detail::entry<Filter>(h, i);
}
const iotgw_plugin_descriptor* console_entry(const iotgw_host_api* h) {
    static const sdk::PluginInfo i = info<Console>("console", kConsoleFields);
    return sdk::detail::entry<Console>(h, i);
}

}  // namespace

void add_config_test_plugins(core::PluginRegistry& registry) {
    registry.add_builtin(&file_entry, "builtin:file");
    registry.add_builtin(&mqtt_entry, "builtin:mqtt");
    registry.add_builtin(&tick_entry, "builtin:tick");
    registry.add_builtin(&every_entry, "builtin:every");
    registry.add_builtin(&listener_entry, "builtin:listener");
    registry.add_builtin(&filter_entry, "builtin:filter");
    registry.add_builtin(&console_entry, "builtin:console");
}

const iotgw_host_api* config_test_host_api() {
    static const iotgw_host_api api = [] {
        iotgw_host_api a{};
        a.size = sizeof(iotgw_host_api);
        a.abi_version = IOTGW_ABI_VERSION;
        return a;
    }();
    return &api;
}

std::vector<std::string> diagnostic_lines(const core::Diagnostics& diags) {
    std::vector<std::string> out;
    for (const auto& d : diags.items()) out.push_back(d.str());
    return out;
}

}  // namespace iotgw::test
