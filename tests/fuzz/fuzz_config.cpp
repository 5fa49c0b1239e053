// libFuzzer target: arbitrary bytes through the whole config loader (TOML parsing, overlays off,
// variables, schema validation, pipelines, start order). Any diagnostics are fine; crashes,
// sanitizer reports and hangs are not.
#include <iotgw/core/config_loader.hpp>
#include <iotgw/sdk.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

using iotgw::sdk::Field;

class FuzzSource : public iotgw::sdk::Source {
public:
    FuzzSource(iotgw::sdk::Host h, const iotgw::sdk::Config&) : Source(h) {}
};
class FuzzSink : public iotgw::sdk::Sink {
public:
    FuzzSink(iotgw::sdk::Host h, const iotgw::sdk::Config&) : Sink(h) {}
};

constexpr iotgw_config_field kSourceFields[] = {
    Field::duration("interval", "period").with_default("\"1s\"").at_least(100).at_most(86'400'000),
    Field::string("payload", "body").with_default("\"beat\""),
    Field::integer("count", "n").at_least(0).at_most(1000),
    Field::number("ratio", "r").at_least(0).at_most(1),
    Field::boolean("enabled", "b").with_default("true"),
    Field::strings("tags", "t").at_most(8),
    Field::string("mode", "m").one_of("fast|slow"),
    Field::map("headers", "h"),
    Field::path("file", "f"),
    Field::ref("peer", static_cast<iotgw_kind>(0), "any"),
    Field::refs("sinks", IOTGW_KIND_SINK, "sinks"),
};
constexpr iotgw_config_field kSinkFields[] = {
    Field::string("prefix", "p").with_default("\"\""),
    Field::ref("next", IOTGW_KIND_SINK, "another sink"),
};

const iotgw_plugin_descriptor* source_entry(const iotgw_host_api* host) {
    static const iotgw::sdk::PluginInfo info{.abi_major = 1, .abi_minor = 0, .name = "tick", .version = "1",
                                             .description = "fuzz source", .fields = kSourceFields};
    return iotgw::sdk::detail::entry<FuzzSource>(host, info);
}

const iotgw_plugin_descriptor* sink_entry(const iotgw_host_api* host) {
    static const iotgw::sdk::PluginInfo info{.abi_major = 1, .abi_minor = 0, .name = "console", .version = "1",
                                             .description = "fuzz sink", .fields = kSinkFields};
    return iotgw::sdk::detail::entry<FuzzSink>(host, info);
}

iotgw::core::PluginRegistry& registry() {
    static const iotgw_host_api host = [] {
        iotgw_host_api h{};
        h.size = sizeof(h);
        h.abi_version = IOTGW_ABI_VERSION;
        return h;
    }();
    static iotgw::core::PluginRegistry r(&host);
    static const bool added = [] {
        r.add_builtin(&source_entry, "builtin:tick");
        r.add_builtin(&sink_entry, "builtin:console");
        return true;
    }();
    (void)added;
    return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    iotgw::core::Diagnostics diags;
    iotgw::core::LoadOptions options;
    options.use_default_plugin_dirs = false;
    std::string_view text(reinterpret_cast<const char*>(data), size);
    // A relative overlay_dir in fuzzed input resolves against this nonexistent directory.
    auto cfg = iotgw::core::load_config_text(text, "/nonexistent/iotgw-fuzz/gateway.toml", registry(), diags, options);
    for (const auto& d : diags.items()) (void)d.str();
    (void)cfg;
    return 0;
}
