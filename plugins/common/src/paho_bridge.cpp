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

void PahoBridge::note_tls_error(const std::string& text) {
    std::lock_guard<std::mutex> lock(mutex_);
    tls_error_ = text;
}

std::string PahoBridge::take_tls_error() {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::exchange(tls_error_, std::string());
}

}  // namespace iotgw::plugins::common
