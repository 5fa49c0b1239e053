// A test fixture that loads config text from a scratch directory with the test plugins.
#pragma once

#include "config_test_plugins.hpp"
#include "test_support.hpp"

#include <iotgw/core/config_loader.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace iotgw::test {

class ConfigLoadTest : public ::testing::Test {
protected:
    ConfigLoadTest() : registry(config_test_host_api()) { add_config_test_plugins(registry); }

    // Writes `text` as dir/gateway.toml and loads it.
    std::optional<core::GatewayConfig> load(const std::string& text) {
        main = dir.write("gateway.toml", text);
        core::LoadOptions options;
        options.use_default_plugin_dirs = false;
        return core::load_config(main, registry, diags, options);
    }

    // "<dir>/gateway.toml:<line>:<col>" etc.
    std::string at(const std::string& rest, const std::string& file = "gateway.toml") const {
        return (dir.path() / file).string() + ":" + rest;
    }

    std::vector<std::string> lines() const { return diagnostic_lines(diags); }
    std::vector<std::string> errors() const {
        std::vector<std::string> out;
        for (const auto& d : diags.items())
            if (d.severity == core::Severity::error) out.push_back(d.str());
        return out;
    }

    // The first config with every line the tests build upon.
    static constexpr const char* kGateway = "[gateway]\nthing = \"AMR-001\"\n";

    TempDir dir;
    core::PluginRegistry registry;
    core::Diagnostics diags;
    std::filesystem::path main;
};

}  // namespace iotgw::test
