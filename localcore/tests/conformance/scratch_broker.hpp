// A mosquitto with the localcore plugin for tests that need more than LocalCoreTest's broker: the
// browser console's websocket listener as well as the TLS one, extra plugin options (e.g. a low
// publish rate), and pausing the broker (SIGSTOP) so that packets from two clients reach it in the
// same event-loop pass. The configuration is `localcore mosquitto-conf` output, as in production.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "localcore_fixture.hpp"

namespace localcore::conformance {

inline std::uint16_t free_loopback_port() {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        if (fd >= 0) close(fd);
        throw std::runtime_error("cannot pick a free loopback port");
    }
    close(fd);
    return ntohs(addr.sin_port);
}

class ScratchBroker {
public:
    // `plugin_options`: extra "plugin_opt_<name> <value>" lines for the localcore plugin.
    ScratchBroker(LocalCore& lc, const std::vector<std::string>& plugin_options = {})
        : port_(free_loopback_port()), ws_port_(free_loopback_port()) {
        std::string conf = lc.cli({"mosquitto-conf", "--port", std::to_string(port_), "--plugin", LOCALCORE_PLUGIN,
                                   "--websockets", std::to_string(ws_port_)});
        // plugin_opt_* lines belong right after the plugin's own (before the websocket listener).
        const std::string anchor = "plugin_opt_mqtt311_unauthorized";
        auto at = conf.find(anchor);
        if (at == std::string::npos) throw std::runtime_error("unexpected mosquitto-conf output:\n" + conf);
        at = conf.find('\n', at) + 1;
        std::string extra;
        for (const auto& line : plugin_options) extra += line + "\n";
        conf.insert(at, extra);
        conf += "log_dest stderr\nlog_type all\n";
        conf_ = conf;
        const fs::path conf_path = lc.fresh_path("scratch-mosquitto") += ".conf";
        std::ofstream(conf_path) << conf;
        process_ = std::make_unique<ChildProcess>(
            std::vector<std::string>{"/usr/sbin/mosquitto", "-c", conf_path.string()},
            lc.fresh_path("scratch-mosquitto") += ".log");
        if (!process_->wait_for(" running", std::chrono::seconds(10)))
            throw std::runtime_error("mosquitto did not start:\n" + process_->log());
    }
    ~ScratchBroker() {
        process_->signal(SIGCONT);  // in case a test paused it and failed before resuming
        process_->signal(SIGTERM);
        if (process_->wait_exit(std::chrono::seconds(5)) < 0) {
            process_->signal(SIGKILL);
            process_->wait_exit(std::chrono::seconds(5));
        }
    }
    ScratchBroker(const ScratchBroker&) = delete;
    ScratchBroker& operator=(const ScratchBroker&) = delete;

    std::uint16_t port() const { return port_; }
    std::uint16_t ws_port() const { return ws_port_; }
    const std::string& conf() const { return conf_; }
    std::string log() const { return process_->log(); }
    bool wait_log(const std::string& needle, std::chrono::milliseconds limit = std::chrono::seconds(5)) const {
        return process_->wait_for(needle, limit);
    }
    // SIGSTOP / SIGCONT: while paused, what clients send waits in the sockets and is read in one
    // pass of the broker's event loop after resume().
    void pause() const { process_->signal(SIGSTOP); }
    void resume() const { process_->signal(SIGCONT); }

private:
    std::uint16_t port_, ws_port_;
    std::string conf_;
    std::unique_ptr<ChildProcess> process_;
};

}  // namespace localcore::conformance
