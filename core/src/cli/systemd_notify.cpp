#include "systemd_notify.hpp"

#include <systemd/sd-daemon.h>

#include <ctime>

namespace iotgw::cli {

SystemdNotifier::SystemdNotifier(boost::asio::io_context& io) : io_(io) {}

void SystemdNotifier::send(const std::string& state) {
    // unset_environment = 0: a reload keeps talking to the same manager.
    sd_notify(0, state.c_str());
}

void SystemdNotifier::ready(const std::string& status) { send("READY=1\nSTATUS=" + status); }

void SystemdNotifier::reloading() {
    // systemd >= 253 pairs RELOADING=1 with the monotonic time of the request.
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    const long long usec = static_cast<long long>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
    send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void SystemdNotifier::stopping() {
    timer_.reset();
    send("STOPPING=1");
}

void SystemdNotifier::start_watchdog() {
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
    // Half the period, as sd_watchdog_enabled(3) recommends, so one late ping is not fatal.
    interval_ = std::chrono::microseconds(usec / 2);
    timer_.emplace(io_);
    ping();
}

void SystemdNotifier::ping() {
    if (!timer_) return;
    send("WATCHDOG=1");
    timer_->expires_after(interval_);
    timer_->async_wait([this](const boost::system::error_code& ec) {
        if (!ec) ping();
    });
}

}  // namespace iotgw::cli
