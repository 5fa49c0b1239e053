// What `iotgw run` keeps while it runs: the loop, the systemd notifier, the logger, and which
// configuration file runs.
#pragma once

#include "cli.hpp"
#include "systemd_notify.hpp"

#include <iotgw/core/log.hpp>

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <cstdint>
#include <filesystem>

namespace iotgw::cli {

struct RunState {
    boost::asio::io_context io;
    SystemdNotifier systemd{io};
    core::Logger log;
    std::filesystem::path packaged_file;  // --config
    std::filesystem::path config_file;    // what runs: a remote configuration in place, else --config
    Options options;
    std::atomic<int64_t> stop_timeout_ms{5000};
};

}  // namespace iotgw::cli
