// The fixture of the runtime tests that start one config: a Gateway on an io_context the test
// drives itself (on the test's thread), the test plugins registered, the Recorder emptied.
#pragma once

#include "config_text.hpp"
#include "test_plugins.hpp"
#include "test_support.hpp"

#include <iotgw/core/gateway.hpp>
#include <iotgw/core/plugin_registry.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace iotgw::test {

// A gateway on a loop of its own, for a test that destroys the loop or the gateway while the
// fixture's gateway lives on.
struct OwnGateway {
    // Starts `toml`; returns the start error ("" when it started).
    std::string start(core::PluginRegistry& registry, const std::string& toml) {
        auto cfg = test_config(registry, toml);
        if (!cfg) return "<invalid config>";
        std::string error;
        gw.start(std::move(*cfg), error);
        return error;
    }
    boost::asio::io_context io;
    CapturingLog log;
    core::Gateway gw{io, log.logger()};
};

class RuntimeTest : public ::testing::Test {
protected:
    RuntimeTest() {
        Recorder::get().reset();
        register_test_plugins(registry_);
    }

    void start(const std::string& toml) { ASSERT_EQ(start_error(toml), ""); }
    // Start `toml`; returns the start error ("" when it started).
    std::string start_error(const std::string& toml) {
        auto cfg = test_config(registry_, toml);
        if (!cfg) return "<invalid config>";
        std::string error;
        const bool started = gw_.start(std::move(*cfg), error);
        EXPECT_EQ(started, error.empty()) << error;
        return error;
    }
    // Run `f` on the loop thread (where plugins are called) and everything it queues.
    template <class F>
    void on_loop(F&& f) {
        boost::asio::post(io_, std::forward<F>(f));
        io_.restart();
        io_.poll();
    }
    // The payloads the test sink or connection `instance` received, in order.
    static std::vector<std::string> payloads_of(const std::string& instance) {
        std::vector<std::string> out;
        for (const auto& r : Recorder::get().messages_of(instance)) out.push_back(r.payload);
        return out;
    }

    // Whether the test plugins recorded the lifecycle event `e` ("start:x", "destroy:cloud", ...).
    static bool recorded(const std::string& e) {
        const auto ev = Recorder::get().events();
        return std::find(ev.begin(), ev.end(), e) != ev.end();
    }

    CapturingLog log_;
    core::PluginRegistry registry_{core::host_api_table()};
    boost::asio::io_context io_;
    core::Gateway gw_{io_, log_.logger()};
};

}  // namespace iotgw::test
