#include <iotgw/core/metrics.hpp>

#include <algorithm>

namespace iotgw::core {

iotgw_counter* Metrics::counter(const std::string& name, const std::string& help) {
    std::lock_guard lock(mutex_);
    auto& slot = counters_[name];
    if (!slot) {
        slot = std::make_unique<iotgw_counter>();
        slot->help = help;
    }
    return slot.get();
}

iotgw_gauge* Metrics::gauge(const std::string& name, const std::string& help) {
    std::lock_guard lock(mutex_);
    auto& slot = gauges_[name];
    if (!slot) {
        slot = std::make_unique<iotgw_gauge>();
        slot->help = help;
    }
    return slot.get();
}

std::vector<MetricSample> Metrics::snapshot() const {
    std::lock_guard lock(mutex_);
    std::vector<MetricSample> out;
    out.reserve(counters_.size() + gauges_.size());
    for (const auto& [name, c] : counters_)
        out.push_back({name, c->help, true, static_cast<double>(c->value.load(std::memory_order_relaxed))});
    for (const auto& [name, g] : gauges_)
        out.push_back({name, g->help, false, g->value.load(std::memory_order_relaxed)});
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return out;
}

uint64_t Metrics::counter_value(const std::string& name) const {
    std::lock_guard lock(mutex_);
    auto it = counters_.find(name);
    return it == counters_.end() ? 0 : it->second->value.load(std::memory_order_relaxed);
}

}  // namespace iotgw::core
