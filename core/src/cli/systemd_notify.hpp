// The systemd notify protocol for `iotgw run` (Type=notify units): READY=1 once every instance
// has started, RELOADING=1/READY=1 around a SIGHUP reload, STOPPING=1, and WATCHDOG=1 pings.
// The pings are sent from a timer on the event loop itself, so a wedged loop stops them and
// systemd (WatchdogSec=) restarts the service. Without $NOTIFY_SOCKET everything is a no-op.
#pragma once

#include <utility>  // before Asio, see core/include/iotgw/core/gateway.hpp

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace iotgw::cli {

class SystemdNotifier {
public:
    explicit SystemdNotifier(boost::asio::io_context& io);

    void ready(const std::string& status);
    void reloading();
    void stopping();
    // Starts the watchdog pings if the service manager asked for them ($WATCHDOG_USEC).
    void start_watchdog();

private:
    void send(const std::string& state);
    void ping();

    boost::asio::io_context& io_;
    std::optional<boost::asio::steady_timer> timer_;
    std::chrono::microseconds interval_{0};
};

}  // namespace iotgw::cli
