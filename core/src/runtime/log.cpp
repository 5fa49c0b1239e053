#include <iotgw/core/log.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

namespace iotgw::core {
namespace {

// journald sets JOURNAL_STREAM to "device:inode" of the stream it reads; when stderr is that
// stream it timestamps each line itself, and our "<N>" prefix becomes the record's priority.
bool stderr_is_journal() {
    const char* js = std::getenv("JOURNAL_STREAM");
    if (js == nullptr) return false;
    struct stat st {};
    if (fstat(STDERR_FILENO, &st) != 0) return false;
    unsigned long long dev = 0, ino = 0;
    if (std::sscanf(js, "%llu:%llu", &dev, &ino) != 2) return false;
    return dev == static_cast<unsigned long long>(st.st_dev) && ino == static_cast<unsigned long long>(st.st_ino);
}

std::string timestamp_utc() {
    using namespace std::chrono;
    auto now = system_clock::now();
    std::time_t t = system_clock::to_time_t(now);
    auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
    return buf;
}

Logger::Sink stderr_sink() {
    const bool journal = stderr_is_journal();
    return [journal](int, std::string_view line) {
        // "<6>" stays first so journald (and anything that parses syslog priorities) sees it.
        std::string out;
        out.reserve(line.size() + 32);
        if (journal) {
            out.append(line);
        } else {
            out.append(line.substr(0, 3));
            out.append(timestamp_utc());
            out.append(line.substr(3));
        }
        out.push_back('\n');
        std::fwrite(out.data(), 1, out.size(), stderr);
    };
}

}  // namespace

Logger::Logger() : Logger(stderr_sink(), IOTGW_LOG_INFO) {}

Logger::Logger(Sink sink, int level) : sink_(std::move(sink)), level_(level) {}

void Logger::log(int level, std::string_view origin, std::string_view message) {
    if (!enabled(level)) return;
    if (level < IOTGW_LOG_ERROR) level = IOTGW_LOG_ERROR;
    if (level > IOTGW_LOG_DEBUG) level = IOTGW_LOG_DEBUG;
    std::string line;
    line.reserve(origin.size() + message.size() + 6);
    line.push_back('<');
    line.push_back(static_cast<char>('0' + level));
    line.push_back('>');
    line.append(origin);
    line.append(": ");
    // One record per line: a message with newlines would split into records of no priority.
    for (char c : message) line.push_back(c == '\n' || c == '\r' ? ' ' : c);
    std::lock_guard lock(mutex_);
    sink_(level, line);
}

int parse_log_level(std::string_view name) noexcept {
    if (name == "error") return IOTGW_LOG_ERROR;
    if (name == "warning") return IOTGW_LOG_WARNING;
    if (name == "notice") return IOTGW_LOG_NOTICE;
    if (name == "info") return IOTGW_LOG_INFO;
    if (name == "debug") return IOTGW_LOG_DEBUG;
    return -1;
}

std::string_view log_level_name(int level) noexcept {
    switch (level) {
        case IOTGW_LOG_ERROR: return "error";
        case IOTGW_LOG_WARNING: return "warning";
        case IOTGW_LOG_NOTICE: return "notice";
        case IOTGW_LOG_INFO: return "info";
        case IOTGW_LOG_DEBUG: return "debug";
        default: return "unknown";
    }
}

}  // namespace iotgw::core
