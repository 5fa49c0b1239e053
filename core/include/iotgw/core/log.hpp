// The gateway's log: one line per record on stderr, prefixed with the syslog priority ("<6>")
// so journald keeps levels; with a timestamp when not running under journald. Thread-safe.
#pragma once

#include <iotgw/plugin_abi.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

namespace iotgw::core {

class Logger {
public:
    using Sink = std::function<void(int level, std::string_view line)>;

    Logger();  // stderr sink, level info
    explicit Logger(Sink sink, int level = IOTGW_LOG_INFO);

    void set_level(int level) noexcept { level_.store(level, std::memory_order_relaxed); }
    int level() const noexcept { return level_.load(std::memory_order_relaxed); }
    bool enabled(int level) const noexcept { return level <= this->level(); }

    // `origin` names the component ("core", "pipeline heartbeat", an instance name).
    void log(int level, std::string_view origin, std::string_view message);
    void error(std::string_view origin, std::string_view m) { log(IOTGW_LOG_ERROR, origin, m); }
    void warning(std::string_view origin, std::string_view m) { log(IOTGW_LOG_WARNING, origin, m); }
    void notice(std::string_view origin, std::string_view m) { log(IOTGW_LOG_NOTICE, origin, m); }
    void info(std::string_view origin, std::string_view m) { log(IOTGW_LOG_INFO, origin, m); }
    void debug(std::string_view origin, std::string_view m) { log(IOTGW_LOG_DEBUG, origin, m); }

private:
    Sink sink_;
    std::atomic<int> level_;
    std::mutex mutex_;
};

// "error" -> 3 ... "debug" -> 7; -1 if unknown.
int parse_log_level(std::string_view name) noexcept;
std::string_view log_level_name(int level) noexcept;

}  // namespace iotgw::core
