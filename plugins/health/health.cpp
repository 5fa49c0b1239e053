// `health`: the job handler of the operation "health" (docs/remote-jobs.md). It ends the job at
// once with a snapshot of the gateway in the execution's status details: version, uptime, the
// connection's counters, the certificate's days left and the process's memory, so an operator
// sees how an AMR's gateway is doing without a visit or a log upload.
#include "schema.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <ctime>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace iotgw::plugins::health {
namespace {

using namespace std::chrono_literals;

// "VmRSS:   2345 kB" -> 2345, from /proc/self/status.
std::optional<int64_t> status_kb(const std::string& key) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(key + ":", 0) != 0) continue;
        std::istringstream fields(line.substr(key.size() + 1));
        int64_t kb = 0;
        if (fields >> kb) return kb;
    }
    return std::nullopt;
}

// Seconds since this process started: /proc/uptime (since boot) less the process's start time
// (field 22 of /proc/self/stat, in clock ticks since boot).
std::optional<int64_t> process_uptime_s() {
    std::ifstream up("/proc/uptime");
    double since_boot = 0;
    if (!(up >> since_boot)) return std::nullopt;
    std::ifstream st("/proc/self/stat");
    std::string stat;
    std::getline(st, stat);
    // The command name (field 2) may hold spaces: count from the closing parenthesis.
    const auto close = stat.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream rest(stat.substr(close + 2));
    std::string field;
    for (int i = 3; i < 22 && rest >> field; ++i) {
    }
    long long start_ticks = 0;
    if (!(rest >> start_ticks)) return std::nullopt;
    const long ticks = sysconf(_SC_CLK_TCK);
    if (ticks <= 0) return std::nullopt;
    return static_cast<int64_t>(since_boot - static_cast<double>(start_ticks) / static_cast<double>(ticks));
}

class Health final : public sdk::JobHandler {
public:
    Health(sdk::Host host, const sdk::Config& cfg)
        : JobHandler(host), connection_(cfg.string("connection")), credentials_(cfg.optional_string("credentials")) {}

    std::string operations() const override { return "health"; }
    std::chrono::milliseconds step_timeout() const override { return 30s; }

    // A resumed health job just reports again: a snapshot is never half taken.
    void start_job(sdk::Job job, sdk::JobReport report) override {
        host().info("health report for job ", job.id);
        report.succeed(snapshot());
    }

    void cancel_job(const std::string&) override {}  // ends inside start_job: nothing runs

private:
    std::string snapshot() const {
        rapidjson::StringBuffer out;
        rapidjson::Writer<rapidjson::StringBuffer> w(out);
        // statusDetails values are strings (AWS).
        auto put = [&](const char* key, const std::string& value) {
            w.Key(key);
            w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
        };
        auto put_int = [&](const char* key, std::optional<int64_t> v) {
            if (v) put(key, std::to_string(*v));
        };
        w.StartObject();
        put("version", sdk::Host::gateway_version());
        put_int("uptime_s", process_uptime_s());
        put_int("rss_kb", status_kb("VmRSS"));
        put_int("rss_anon_kb", status_kb("RssAnon"));
        const std::string prefix = connection_ + ".";
        for (const auto& m : host().metrics()) {
            if (m.name.rfind(prefix, 0) != 0) continue;
            const std::string name = m.name.substr(prefix.size());
            if (name == "connected" || name == "connects" || name == "disconnects" || name == "reconnect_attempts" ||
                name == "queue_dropped" || name == "queue_depth" || name == "publish_failed")
                put(("link_" + name).c_str(), std::to_string(std::llround(m.value)));
        }
        if (credentials_) {
            try {
                const sdk::Credentials c = host().credentials(*credentials_);
                if (c.not_after_unix > 0)
                    put("cert_days_left", std::to_string((c.not_after_unix - std::time(nullptr)) / 86400));
            } catch (const sdk::Error& e) {
                put("cert_error", e.what());
            }
        }
        w.EndObject();
        return std::string(out.GetString(), out.GetSize());
    }

    const std::string connection_;
    const std::optional<std::string> credentials_;
};

}  // namespace
}  // namespace iotgw::plugins::health

IOTGW_DECLARE_PLUGIN(iotgw::plugins::health::Health,
                     {.abi_major = 1,
                      .abi_minor = 3,
                      .name = "health",
                      .version = "1.0.0",
                      .description = "Job handler of the operation \"health\": reports version, uptime, link "
                                     "counters, certificate days left and memory in the job's status details.",
                      .fields = iotgw::plugins::health::kFields})
