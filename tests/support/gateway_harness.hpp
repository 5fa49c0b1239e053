// Runs a config through a real Gateway on the test's thread: the plugins come from .so files
// (in-tree plugins and fixtures), the log is captured, and the loop runs in bounded slices.
#pragma once

#include "test_support.hpp"

#include <iotgw/core/config_loader.hpp>
#include <iotgw/core/gateway.hpp>
#include <iotgw/core/plugin_registry.hpp>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <string>

namespace iotgw::test {

class GatewayHarness {
public:
    // Plugin dirs: the in-tree plugins and the good fixtures.
    GatewayHarness();

    // Validate `toml`; returns the diagnostics text ("" if valid) and keeps the config.
    std::string load(const std::string& toml);
    // load() + start; returns "" on success, else the validation or start error.
    std::string start(const std::string& toml);
    // Create and destroy the instances without starting (what `iotgw check` does after validation).
    std::string dry_run(const std::string& toml);
    // Run the loop until `done()` or `limit`; returns done().
    bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(5));
    // run_until() a log line contains `text`.
    bool run_until_logged(const std::string& text, std::chrono::milliseconds limit = std::chrono::seconds(5));
    void run_for(std::chrono::milliseconds d);

    CapturingLog& log() noexcept { return log_; }
    core::Gateway& gateway() noexcept { return gw_; }
    boost::asio::io_context& io() noexcept { return io_; }
    // Register builtin test plugins here (add_builtin) before load()/start().
    core::PluginRegistry& registry() noexcept { return registry_; }
    // Log lines containing `needle`, in order.
    std::vector<std::string> lines_with(const std::string& needle) const;

private:
    CapturingLog log_;
    core::PluginRegistry registry_;
    boost::asio::io_context io_;
    core::Gateway gw_;
    std::optional<core::GatewayConfig> config_;
};

}  // namespace iotgw::test
