#include <iotgw/core/heap_trim.hpp>

#include <malloc.h>

namespace iotgw::core {

bool release_free_heap() noexcept {
#if defined(__GLIBC__)
    return malloc_trim(0) == 1;
#else
    return false;
#endif
}

HeapTrimmer::HeapTrimmer(boost::asio::io_context& io, std::chrono::steady_clock::duration every)
    : timer_(io), every_(every) {}

void HeapTrimmer::start() { arm(); }

void HeapTrimmer::arm() {
    timer_.expires_after(every_);
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;  // cancelled: stopped or destroyed
        release_free_heap();
        ++runs_;
        arm();
    });
}

}  // namespace iotgw::core
