// The running gateway: the plugin instances and pipelines of one validated config on one
// Boost.Asio event loop, with start in dependency order, stop in reverse, and reload that
// keeps the old config running when the new one cannot start. It publishes the internal
// events $iotgw/core/started, .../reloaded (retained) and .../stopping.
#pragma once

#include <utility>  // Boost 1.74's Asio needs it before <boost/asio/...> under C++20

#include <iotgw/core/gateway_config.hpp>
#include <iotgw/core/log.hpp>
#include <iotgw/core/metrics.hpp>
#include <iotgw/plugin_abi.h>

#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>
#include <thread>

namespace iotgw::core {

class ConfigControl;
class Runtime;

// The host-API table every plugin receives; one per process.
const iotgw_host_api* host_api_table() noexcept;

class Gateway {
public:
    // All calls, and io.run(), must happen on the thread that constructs the Gateway: it is the
    // event-loop thread plugins are promised.
    Gateway(boost::asio::io_context& io, Logger& log);
    ~Gateway();
    Gateway(const Gateway&) = delete;
    Gateway& operator=(const Gateway&) = delete;

    // Create every instance (plugins check their config), then start them in dependency
    // order. On failure everything created is torn down again, `error` says what failed, and
    // the gateway is left stopped.
    bool start(GatewayConfig config, std::string& error);

    // Create every instance and open its endpoints, then destroy them again without starting
    // anything: the plugins' own config checks, for `iotgw check`.
    static bool dry_run(boost::asio::io_context& io, Logger& log, const GatewayConfig& config,
                        std::string& error);

    // Stop the running config and start `config`. If it fails to start, the previous config is
    // started again and false is returned with the reason in `error`.
    bool reload(GatewayConfig config, std::string& error);

    // Stop every instance in reverse start order and destroy them. Idempotent.
    void stop() noexcept;

    // What the running config's plugins may do with the gateway's configuration (the `config`
    // job handler); set before start by `iotgw run --remote-config`. Not owned.
    void set_config_control(ConfigControl* control) noexcept { config_control_ = control; }

    bool running() const noexcept { return runtime_ != nullptr; }
    const GatewayConfig* config() const noexcept;
    Metrics& metrics() noexcept { return metrics_; }
    Logger& logger() noexcept { return log_; }

private:
    std::unique_ptr<Runtime> build(GatewayConfig config, std::string& error, bool start);
    // JSON payload of the core's lifecycle events.
    std::string summary() const;

    boost::asio::io_context& io_;
    Logger& log_;
    Metrics metrics_;
    std::thread::id loop_thread_;
    std::unique_ptr<Runtime> runtime_;
    ConfigControl* config_control_ = nullptr;
};

}  // namespace iotgw::core
