// The only code that runs on paho's threads. It copies what a callback carries and posts it to the
// gateway's loop; nothing else. A gate closed at stop makes late callbacks (paho may still be
// inside one while the instance is being destroyed) harmless: they no longer touch the host.
#pragma once

#include <iotgw/plugins/common/paho_compat.hpp>

#include <iotgw/sdk.hpp>

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <utility>

namespace iotgw::plugins::common {

class PahoBridge {
public:
    explicit PahoBridge(sdk::Host host) : host_(host) {}

    // From any thread: run `fn` on the loop, unless the gate is closed.
    void post(std::function<void()> fn) noexcept;

    // After close() returns, no callback reaches the host again.
    void close() noexcept;

private:
    std::mutex mutex_;
    bool open_ = true;
    sdk::Host host_;
};

// An iaction_listener that forwards to a function (run on paho's thread: it must only post).
class Listener final : public ::mqtt::iaction_listener {
public:
    using Fn = std::function<void(const ::mqtt::token&, bool ok)>;
    explicit Listener(Fn fn) : fn_(std::move(fn)) {}
    void on_success(const ::mqtt::token& tok) override { fn_(tok, true); }
    void on_failure(const ::mqtt::token& tok) override { fn_(tok, false); }

private:
    Fn fn_;
};

// A small integer carried through paho's user-context pointer (no allocation to free).
inline void* to_context(uint64_t v) { return reinterpret_cast<void*>(static_cast<std::uintptr_t>(v)); }
inline uint64_t from_context(void* p) { return static_cast<uint64_t>(reinterpret_cast<std::uintptr_t>(p)); }

}  // namespace iotgw::plugins::common
