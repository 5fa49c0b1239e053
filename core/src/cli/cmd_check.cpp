// `iotgw check`: everything `run` does before the first instance starts, and nothing after.
#include "cli.hpp"

#include <iotgw/core/gateway.hpp>
#include <iotgw/core/plugin_registry.hpp>

#include <iostream>

namespace iotgw::cli {

int check_command(const Options& o) {
    bool all_ok = true;
    for (const auto& file : o.configs) {
        core::PluginRegistry registry(core::host_api_table());
        core::Diagnostics diags;
        const auto config = load_and_check(file, o, registry, diags, o.log_level.value_or(IOTGW_LOG_WARNING));
        print_diagnostics(diags);
        if (diags.has_errors()) {
            all_ok = false;
            std::cerr << file.string() << ": invalid: " << diags.error_count() << " error(s), "
                      << diags.warning_count() << " warning(s)\n";
        } else if (!o.quiet) {
            std::cout << file.string() << ": OK (" << config->instances.size() << " instance(s), "
                      << config->pipelines.size() << " pipeline(s), " << diags.warning_count()
                      << " warning(s))\n";
        }
    }
    return all_ok ? kExitOk : kExitFailure;
}

}  // namespace iotgw::cli
