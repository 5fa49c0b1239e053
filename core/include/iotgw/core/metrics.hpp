// Counters and gauges of the core and its plugins, named "<origin>.<name>". They outlive
// reloads: a reloaded instance with the same name keeps counting where the old one stopped.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

// The host's side of the opaque metric handles handed to plugins.
struct iotgw_counter {
    std::atomic<uint64_t> value{0};
    std::string help;
};
struct iotgw_gauge {
    std::atomic<double> value{0.0};
    std::string help;
};

namespace iotgw::core {

struct MetricSample {
    std::string name;
    std::string help;
    bool is_counter = true;
    double value = 0;
};

class Metrics {
public:
    // Returns the existing metric of that name, or a new one. Never null; stable address.
    iotgw_counter* counter(const std::string& name, const std::string& help);
    iotgw_gauge* gauge(const std::string& name, const std::string& help);

    // Current values sorted by name (for logs, `iotgw` status output and tests).
    std::vector<MetricSample> snapshot() const;
    // The value of a counter, or 0 if it does not exist.
    uint64_t counter_value(const std::string& name) const;

private:
    mutable std::mutex mutex_;
    std::map<std::string, std::unique_ptr<iotgw_counter>, std::less<>> counters_;
    std::map<std::string, std::unique_ptr<iotgw_gauge>, std::less<>> gauges_;
};

}  // namespace iotgw::core
