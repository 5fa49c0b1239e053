// ABI 1.4: a file descriptor the plugin owns, watched on the gateway's loop. For a library that
// brings a socket or a device of its own (an MQTT client library driven from the loop, a serial
// port), so that its I/O runs on the loop thread, like everything else a plugin does, instead
// of on a thread of its own.
//
//   auto watch = host().watch_fd(fd, [this](bool readable, bool writable) { ... });
//   watch.arm(/*readable=*/true, /*writable=*/wants_to_write);
//
// A wait is one-shot and level-triggered: arm() again from the callback to go on watching; an
// fd already ready when armed calls back soon after, from the loop. An error or hang-up on the
// fd is reported as every event that was armed; a regular file is always ready, as poll() says. disarm(), a
// new arm() and destruction are final, as they are for a Timer. The fd stays the plugin's: destroy the watch
// (or let it go out of scope) before closing it. The host puts the fd in non-blocking mode.
#pragma once

#include <iotgw/plugin_abi.h>
#include <iotgw/sdk/errors.hpp>
#include <iotgw/sdk/guarded_call.hpp>
#include <iotgw/sdk/host_api.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

// Not "namespace iotgw::sdk": GCC rejects attributes on a nested namespace definition.
namespace iotgw {
namespace [[gnu::visibility("hidden")]] sdk {

class FdWatch {
public:
    using Handler = std::function<void(bool readable, bool writable)>;

    // Whether this gateway can watch fds at all: one older than ABI 1.4 cannot.
    static bool available() noexcept { return IOTGW_HOST_HAS(fd_watch_destroy); }

    FdWatch(iotgw_host_instance* self, int fd, Handler fn)
        : state_(std::make_unique<State>(self, std::move(fn))) {
        if (!available())
            throw Error("this gateway cannot watch file descriptors: it is older than plugin ABI 1.4");
        state_->watch = detail::host_api().fd_watch_create(self, fd, &FdWatch::fire, state_.get());
        if (state_->watch == nullptr)
            throw Error("cannot watch file descriptor " + std::to_string(fd) +
                        " on the loop (not an open fd, or not on the loop thread)");
    }
    FdWatch(const FdWatch&) = delete;
    FdWatch& operator=(const FdWatch&) = delete;
    FdWatch(FdWatch&&) noexcept = default;
    // The watch assigned over is destroyed first, as a Timer's is.
    FdWatch& operator=(FdWatch&& o) noexcept {
        if (this != &o) {
            destroy();
            state_ = std::move(o.state_);
        }
        return *this;
    }
    ~FdWatch() { destroy(); }

    void arm(bool readable, bool writable) {
        uint32_t events = 0;
        if (readable) events |= IOTGW_FD_READABLE;
        if (writable) events |= IOTGW_FD_WRITABLE;
        if (const int rc = detail::host_api().fd_watch_arm(state_->watch, events); rc != IOTGW_OK)
            throw Error("cannot watch the file descriptor", rc);
    }
    void disarm() noexcept {
        if (state_) (void)detail::host_api().fd_watch_arm(state_->watch, 0);
    }

private:
    struct State {
        State(iotgw_host_instance* s, Handler f) : self(s), fn(std::move(f)) {}
        iotgw_host_instance* self;
        Handler fn;
        iotgw_fd_watch* watch = nullptr;
    };
    void destroy() noexcept {
        if (state_ && state_->watch != nullptr) detail::host_api().fd_watch_destroy(state_->watch);
        state_.reset();
    }
    static void fire(void* user, uint32_t ready) noexcept {
        auto* st = static_cast<State*>(user);
        detail::run_guarded(st->self, "fd watch callback", [st, ready] {
            st->fn((ready & IOTGW_FD_READABLE) != 0, (ready & IOTGW_FD_WRITABLE) != 0);
        });
    }
    std::unique_ptr<State> state_;
};

}  // namespace sdk
}  // namespace iotgw
