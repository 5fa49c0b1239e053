#include <iotgw/plugins/common/paho_bridge.hpp>

namespace iotgw::plugins::common {

void PahoBridge::post(std::function<void()> fn) noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!open_) return;
    try {
        host_.post(std::move(fn));
    } catch (...) {
        // The gateway is stopping: the work is not needed any more.
    }
}

void PahoBridge::close() noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = false;
}

}  // namespace iotgw::plugins::common
