// `iotgw plugins`: every available plugin with its schema, printed as a commented sample
// config section — the same schema data the validator enforces, so the two cannot disagree.
#include "cli.hpp"

#include <iotgw/core/duration.hpp>
#include <iotgw/core/gateway.hpp>
#include <iotgw/core/kinds.hpp>
#include <iotgw/core/plugin_registry.hpp>

#include <cmath>
#include <iostream>
#include <sstream>

namespace iotgw::cli {
namespace {

std::string format_bound(const core::FieldSpec& f, double v) {
    if (f.type == IOTGW_TYPE_DURATION) return core::format_duration_ms(static_cast<int64_t>(v));
    std::ostringstream os;
    if (std::floor(v) == v && std::fabs(v) < 1e15)
        os << static_cast<long long>(v);
    else
        os << v;
    if (f.type == IOTGW_TYPE_STRING_ARRAY || f.type == IOTGW_TYPE_REF_ARRAY) os << " element(s)";
    return os.str();
}

std::string placeholder(const core::FieldSpec& f) {
    switch (f.type) {
        case IOTGW_TYPE_INT: return "0";
        case IOTGW_TYPE_FLOAT: return "0.0";
        case IOTGW_TYPE_BOOL: return "false";
        case IOTGW_TYPE_DURATION: return "\"10s\"";
        case IOTGW_TYPE_STRING_ARRAY:
        case IOTGW_TYPE_REF_ARRAY: return "[]";
        case IOTGW_TYPE_STRING_MAP: return "{}";
        default: return "\"<" + f.name + ">\"";
    }
}

void print_plugin(const core::LoadedPlugin& p) {
    std::cout << core::kind_table(p.kind) << "/" << p.name << " " << p.version << " (plugin ABI "
              << IOTGW_ABI_VERSION_MAJOR(p.abi_version) << "." << IOTGW_ABI_VERSION_MINOR(p.abi_version)
              << ") from " << p.origin << "\n";
    if (!p.description.empty()) std::cout << "  " << p.description << "\n";
    std::cout << "\n  [" << core::kind_table(p.kind) << ".NAME]\n  type = \"" << p.name << "\"\n";
    for (const auto& f : p.fields) {
        std::cout << "  # " << (f.description.empty() ? f.name : f.description) << "\n  #   "
                  << core::describe_type(f);
        if (f.required) std::cout << "; required";
        if (f.default_value && !f.secret) std::cout << "; default " << f.default_literal;
        if (f.min) std::cout << "; at least " << format_bound(f, *f.min);
        if (f.max) std::cout << "; at most " << format_bound(f, *f.max);
        if (!f.choices.empty()) {
            std::cout << "; one of";
            for (size_t i = 0; i < f.choices.size(); ++i) std::cout << (i ? " | " : " ") << f.choices[i];
        }
        if (f.secret) std::cout << "; secret";
        std::cout << "\n";
        if (f.default_value && !f.secret)
            std::cout << "  " << f.name << " = " << f.default_literal << "\n";
        else if (f.required)
            std::cout << "  " << f.name << " = " << placeholder(f) << "\n";
        else
            std::cout << "  # " << f.name << " = " << placeholder(f) << "\n";
    }
    std::cout << "\n";
}

}  // namespace

int plugins_command(const Options& o) {
    core::PluginRegistry registry(core::host_api_table());
    for (const auto& dir : load_options(o).default_plugin_dirs) registry.load_directory(dir);
    for (const auto* p : registry.plugins()) print_plugin(*p);
    for (const auto& f : registry.failures())
        std::cerr << f.origin << ": " << (f.fatal ? "error" : "warning") << ": " << f.message << "\n";
    if (registry.plugins().empty()) std::cerr << "iotgw: no plugins found\n";
    return registry.failures().empty() ? kExitOk : kExitFailure;
}

}  // namespace iotgw::cli
