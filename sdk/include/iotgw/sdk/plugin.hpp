// Base classes a plugin derives from, one per kind. The kind of the class decides which
// callbacks the descriptor offers: a Source takes no messages unless it says so, only a
// Connection has addressable endpoints, only a CredentialsProvider hands out credentials.
#pragma once

#include <iotgw/plugin_abi.h>
#include <iotgw/sdk/config.hpp>
#include <iotgw/sdk/errors.hpp>
#include <iotgw/sdk/host.hpp>
#include <iotgw/sdk/message.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

// Not "namespace iotgw::sdk": GCC rejects attributes on a nested namespace definition.
namespace iotgw {
namespace [[gnu::visibility("hidden")]] sdk {

enum class Direction : uint32_t { input = IOTGW_ENDPOINT_INPUT, output = IOTGW_ENDPOINT_OUTPUT };

class Plugin {
public:
    explicit Plugin(Host host) noexcept : host_(host) {}
    Plugin(const Plugin&) = delete;
    Plugin& operator=(const Plugin&) = delete;
    virtual ~Plugin() = default;

    // Begin work: everything this instance depends on has started. Throw to refuse.
    virtual void start() {}
    // Stop emitting, cancel timers, release connections. Must not throw.
    virtual void stop() noexcept {}

    // A message from a pipeline. `endpoint_id` is 0 or an OUTPUT endpoint from open_endpoint.
    virtual void on_message(const Delivery& delivery, uint32_t endpoint_id, const Message& message) {
        (void)delivery;
        (void)endpoint_id;
        (void)message;
        throw Error("this plugin does not accept messages");
    }

    // Resolve the address of a "name:address" pipeline reference to an endpoint id (> 0).
    virtual uint32_t open_endpoint(Direction direction, std::string_view address) {
        (void)direction;
        (void)address;
        throw Error("this plugin has no addressable endpoints");
    }

    const Host& host() const noexcept { return host_; }

private:
    Host host_;
};

// Produces messages on its own (timers, devices). Set accepts_messages = true in a subclass to
// be a pipeline target too (e.g. to take control messages).
class Source : public Plugin {
public:
    using Plugin::Plugin;
    static constexpr uint32_t kind = IOTGW_KIND_SOURCE;
    static constexpr bool accepts_messages = false;
    static constexpr bool has_endpoints = false;
};

// A pipeline stage: receives a message and emits zero or more, now (with the delivery) or later.
class Processor : public Plugin {
public:
    using Plugin::Plugin;
    static constexpr uint32_t kind = IOTGW_KIND_PROCESSOR;
    static constexpr bool accepts_messages = true;
    static constexpr bool has_endpoints = false;

protected:
    // Pass `m` on to the next stage (or the sinks) of the pipeline `d` came from.
    void forward(const Delivery& d, const Message& m) const { host().emit(d, m); }
};

class Sink : public Plugin {
public:
    using Plugin::Plugin;
    static constexpr uint32_t kind = IOTGW_KIND_SINK;
    static constexpr bool accepts_messages = true;
    static constexpr bool has_endpoints = false;
};

// A transport. Pipelines address it as "name:address" (for MQTT, a topic or topic filter).
class Connection : public Plugin {
public:
    using Plugin::Plugin;
    static constexpr uint32_t kind = IOTGW_KIND_CONNECTION;
    static constexpr bool accepts_messages = true;
    static constexpr bool has_endpoints = true;
};

class CredentialsProvider : public Plugin {
public:
    using Plugin::Plugin;
    static constexpr uint32_t kind = IOTGW_KIND_CREDENTIALS;
    static constexpr bool accepts_messages = false;
    static constexpr bool has_endpoints = false;

    // The current credentials; called on the loop thread whenever a connection (re)connects.
    virtual Credentials credentials() = 0;

    // ABI 1.1, on-device renewal. A provider that implements it sets supports_renewal = true
    // (only then does the SDK offer the functions to the gateway) and overrides both functions.
    static constexpr bool supports_renewal = false;

    // How a renewal operation reports its end: call exactly one of them, once, from the loop
    // thread (directly or later, e.g. after off-loop work posted back). The SDK delivers it to
    // the requester after renew() has returned.
    class RenewalCompletion {
    public:
        RenewalCompletion(Host host, iotgw_renewal_done done, void* user)
            : host_(host), done_(done), user_(user) {}
        void succeed(std::string output = {}) { finish(IOTGW_OK, std::move(output), {}); }
        void fail(std::string error, int status = IOTGW_ERR_FAILED) { finish(status, {}, std::move(error)); }

    private:
        void finish(int status, std::string output, std::string error) {
            if (done_ == nullptr) return;
            auto done = std::exchange(done_, nullptr);
            void* user = user_;
            // Posted, so the requester never sees its completion inside its own call. If the
            // provider stops first, the requester still hears (IOTGW_ERR_STOPPED) and can free.
            struct Box {
                iotgw_renewal_done done;
                void* user;
                int status;
                std::string output, error;
            };
            auto* box = new Box{done, user, status, std::move(output), std::move(error)};
            auto run = [](void* p, int cancelled) noexcept {
                std::unique_ptr<Box> b(static_cast<Box*>(p));
                if (cancelled != 0)
                    b->done(b->user, IOTGW_ERR_STOPPED, nullptr, "the credentials provider stopped");
                else
                    b->done(b->user, b->status, b->output.empty() ? nullptr : b->output.c_str(),
                            b->status == IOTGW_OK ? nullptr : b->error.c_str());
            };
            if (detail::host_api().post(host_.get(), run, box) != IOTGW_OK) {
                delete box;
                done(user, IOTGW_ERR_STOPPED, nullptr, "the gateway is stopping");
            }
        }
        Host host_;
        iotgw_renewal_done done_;
        void* user_;
    };

    // Start `op` (see RenewalOp); throw to refuse it at once (then `done` must not be used).
    virtual void renew(RenewalOp op, std::string input, RenewalCompletion done) {
        (void)op;
        (void)input;
        (void)done;
        throw Error("this credentials provider cannot renew", IOTGW_ERR_UNSUPPORTED);
    }
    // IOTGW_RENEWAL_IMPORT_PAIR: keep a certificate chain and its private key made elsewhere
    // (PEM chain, then PEM key) as the pending pair. Only for providers whose keys are files;
    // the default refuses, which is right for hardware keys.
    virtual void import_pair(std::string chain_and_key_pem, RenewalCompletion done) {
        (void)chain_and_key_pem;
        (void)done;
        throw Error("this credentials provider only uses keys it made itself; use the CSR method",
                    IOTGW_ERR_UNSUPPORTED);
    }
    // The pending key and certificate once store_cert has succeeded.
    virtual Credentials pending_credentials() {
        throw Error("this credentials provider cannot renew", IOTGW_ERR_UNSUPPORTED);
    }

    // Owned by the SDK's C adapter: the strings handed across the boundary point into it.
    Credentials sdk_credentials_cache_;
};

}  // namespace sdk
}  // namespace iotgw
