#include "gateway_harness.hpp"

#include <thread>

namespace iotgw::test {

GatewayHarness::GatewayHarness() : registry_(core::host_api_table()), gw_(io_, log_.logger()) {}

std::string GatewayHarness::load(const std::string& toml) {
    core::Diagnostics diags;
    core::LoadOptions opts;
    opts.default_plugin_dirs = {build_plugin_dir(), fixture_plugin_dir() / "good"};
    config_ = core::load_config_text(toml, "test.toml", registry_, diags, opts);
    std::string out;
    for (const auto& d : diags.items())
        if (d.severity == core::Severity::error) out += d.str() + "\n";
    return out;
}

std::string GatewayHarness::start(const std::string& toml) {
    std::string errors = load(toml);
    if (!errors.empty()) return errors;
    std::string error;
    if (!gw_.start(std::move(*config_), error)) return error;
    return "";
}

std::string GatewayHarness::dry_run(const std::string& toml) {
    std::string errors = load(toml);
    if (!errors.empty()) return errors;
    std::string error;
    if (!core::Gateway::dry_run(io_, log_.logger(), *config_, error)) return error;
    return "";
}

bool GatewayHarness::run_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < end) {
        io_.restart();
        io_.run_for(std::chrono::milliseconds(5));
    }
    return done();
}

bool GatewayHarness::run_until_logged(const std::string& text, std::chrono::milliseconds limit) {
    return run_until([&] { return log_.contains(text); }, limit);
}

void GatewayHarness::run_for(std::chrono::milliseconds d) {
    io_.restart();
    io_.run_for(d);
}

std::vector<std::string> GatewayHarness::lines_with(const std::string& needle) const {
    std::vector<std::string> out;
    for (const auto& l : log_.lines())
        if (l.find(needle) != std::string::npos) out.push_back(l);
    return out;
}

}  // namespace iotgw::test
