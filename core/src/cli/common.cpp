#include "cli.hpp"

#include <iostream>

namespace iotgw::cli {

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
