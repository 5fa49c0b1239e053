#include "cli.hpp"

#include <iotgw/core/gateway.hpp>

#include <boost/asio/io_context.hpp>

#include <iostream>

namespace iotgw::cli {

std::optional<core::GatewayConfig> load_and_check(const std::filesystem::path& file, const Options& o,
                                                  core::PluginRegistry& registry, core::Diagnostics& diags,
                                                  int log_level) {
    auto config = core::load_config(file, registry, diags, load_options(o));
    if (!config) return config;
    boost::asio::io_context io;
    core::Logger log;
    log.set_level(log_level);
    std::string plugin_error;
    if (!core::Gateway::dry_run(io, log, *config, plugin_error))
        diags.error(core::SourcePos{file.string(), 0, 0}, plugin_error);
    return config;
}

core::LoadOptions load_options(const Options& o) {
    core::LoadOptions lo;
    lo.default_plugin_dirs = o.plugin_dirs;
    for (const auto& d : core::default_plugin_dirs()) lo.default_plugin_dirs.push_back(d);
    return lo;
}

void print_diagnostics(const core::Diagnostics& d) {
    for (const auto& item : d.items()) std::cerr << item.str() << "\n";
}

}  // namespace iotgw::cli
