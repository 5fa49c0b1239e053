// IOTGW_DECLARE_PLUGIN: the one macro that turns a C++ plugin class into the C entry point and
// descriptor, converting every exception into a status code and an error message.
#pragma once

#include <iotgw/plugin_abi.h>
#include <iotgw/sdk/config.hpp>
#include <iotgw/sdk/errors.hpp>
#include <iotgw/sdk/host.hpp>
#include <iotgw/sdk/jobs.hpp>
#include <iotgw/sdk/plugin.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <new>
#include <span>
#include <string>
#include <type_traits>

// Not "namespace iotgw::sdk": GCC rejects attributes on a nested namespace definition.
namespace iotgw {
namespace [[gnu::visibility("hidden")]] sdk {

// What a plugin says about itself. abi_major/abi_minor are the ABI the plugin was written for,
// written as literals (not IOTGW_ABI_*), so rebuilding against a newer SDK claims nothing new.
struct PluginInfo {
    uint32_t abi_major = 0;
    uint32_t abi_minor = 0;
    const char* name = nullptr;
    const char* version = nullptr;
    const char* description = nullptr;
    std::span<const iotgw_config_field> fields{};
};

namespace detail {

inline void set_error(iotgw_error* err, const char* text) noexcept {
    if (err == nullptr) return;
    std::snprintf(err->message, sizeof(err->message), "%s", text);
}

// Runs `fn`, mapping exceptions to status codes: nothing unwinds into the host's C frames.
template <class Fn>
int guard(iotgw_error* err, Fn&& fn) noexcept {
    try {
        fn();
        return IOTGW_OK;
    } catch (const Error& e) {
        set_error(err, e.what());
        return e.status();
    } catch (const std::bad_alloc&) {
        set_error(err, "out of memory");
        return IOTGW_ERR_NO_MEMORY;
    } catch (const std::exception& e) {
        set_error(err, e.what());
        return IOTGW_ERR_EXCEPTION;
    } catch (...) {
        set_error(err, "unknown exception (not derived from std::exception)");
        return IOTGW_ERR_EXCEPTION;
    }
}

template <class T>
int create(iotgw_host_instance* self, const iotgw_config* cfg, void** out, iotgw_error* err) noexcept {
    return guard(err, [&] {
        Config config(cfg);
        *out = static_cast<Plugin*>(new T(Host(self), config));
    });
}

inline Plugin* as_plugin(void* instance) noexcept { return static_cast<Plugin*>(instance); }

inline int start(void* instance, iotgw_error* err) noexcept {
    return guard(err, [&] { as_plugin(instance)->start(); });
}

inline void stop(void* instance) noexcept { as_plugin(instance)->stop(); }

inline void destroy(void* instance) noexcept { delete as_plugin(instance); }

inline int on_message(void* instance, const iotgw_delivery* delivery, uint32_t endpoint_id,
                      const iotgw_message* message, iotgw_error* err) noexcept {
    return guard(err, [&] {
        as_plugin(instance)->on_message(Delivery(delivery), endpoint_id, Message::from_c(*message));
    });
}

inline int open_endpoint(void* instance, uint32_t direction, const char* address, uint32_t* out_id,
                         iotgw_error* err) noexcept {
    return guard(err, [&] {
        uint32_t id = as_plugin(instance)->open_endpoint(static_cast<Direction>(direction), address);
        if (id == 0) throw Error("open_endpoint returned 0, which is reserved for 'no endpoint'");
        *out_id = id;
    });
}

inline void fill_credentials(const Credentials& c, iotgw_credentials* out) noexcept {
    out->cert_chain_path = c.cert_chain_path.c_str();
    out->private_key_path = c.private_key_path.c_str();
    out->ca_path = c.ca_path.empty() ? nullptr : c.ca_path.c_str();
    out->not_after_unix = c.not_after_unix;
}

template <class T>
int get_credentials(void* instance, iotgw_credentials* out, iotgw_error* err) noexcept {
    return guard(err, [&] {
        auto* provider = static_cast<T*>(as_plugin(instance));
        static_assert(std::is_base_of_v<CredentialsProvider, T>);
        // The C struct points into this copy, which lives until the next call.
        provider->sdk_credentials_cache_ = provider->credentials();
        fill_credentials(provider->sdk_credentials_cache_, out);
    });
}

template <class T>
int renew_credentials(void* instance, uint32_t op, const char* input, size_t input_len, iotgw_renewal_done done,
                      void* user, iotgw_error* err) noexcept {
    return guard(err, [&] {
        auto* provider = static_cast<T*>(as_plugin(instance));
        if (op == IOTGW_RENEWAL_IMPORT_PAIR) {
            provider->import_pair(std::string(input, input_len),
                                  CredentialsProvider::RenewalCompletion(provider->host(), done, user));
            return;
        }
        if (op < IOTGW_RENEWAL_CREATE_KEY || op > IOTGW_RENEWAL_ROLLBACK)
            throw Error("unknown renewal operation " + std::to_string(op), IOTGW_ERR_UNSUPPORTED);
        provider->renew(static_cast<RenewalOp>(op), std::string(input, input_len),
                        CredentialsProvider::RenewalCompletion(provider->host(), done, user));
    });
}

template <class T>
int get_pending_credentials(void* instance, iotgw_credentials* out, iotgw_error* err) noexcept {
    return guard(err, [&] {
        auto* provider = static_cast<T*>(as_plugin(instance));
        provider->sdk_credentials_cache_ = provider->pending_credentials();
        fill_credentials(provider->sdk_credentials_cache_, out);
    });
}

template <class T>
int describe_job_handler(void* instance, const char** operations, int64_t* step_timeout_ms,
                         iotgw_error* err) noexcept {
    return guard(err, [&] {
        auto* handler = static_cast<T*>(as_plugin(instance));
        handler->sdk_operations_cache_ = handler->operations();
        *operations = handler->sdk_operations_cache_.c_str();
        *step_timeout_ms = static_cast<int64_t>(handler->step_timeout().count());
    });
}

template <class T>
int start_job(void* instance, const iotgw_job* job, const iotgw_job_report* report, iotgw_error* err) noexcept {
    return guard(err, [&] {
        auto* handler = static_cast<T*>(as_plugin(instance));
        Job j;
        j.id = job->job_id;
        j.document.assign(job->document, job->document_len);
        if (job->resume_state != nullptr) j.resume_state.emplace(job->resume_state, job->resume_state_len);
        handler->start_job(std::move(j), JobReport(handler->host(), *report));
    });
}

template <class T>
void cancel_job(void* instance, const char* job_id) noexcept {
    auto* handler = static_cast<T*>(as_plugin(instance));
    detail::run_guarded(handler->host().get(), "cancelling a job", [&] { handler->cancel_job(job_id); });
}

template <class T>
const iotgw_plugin_descriptor* entry(const iotgw_host_api* host, const PluginInfo& info) noexcept {
    static_assert(std::is_base_of_v<Plugin, T>, "a plugin class derives from iotgw::sdk::Source, "
                                               "Processor, Sink, Connection, CredentialsProvider or "
                                               "JobHandler");
    static iotgw_plugin_descriptor d{};
    d.size = sizeof(d);
    d.abi_version = IOTGW_MAKE_ABI_VERSION(info.abi_major, info.abi_minor);
    d.kind = T::kind;
    d.name = info.name;
    d.version = info.version;
    d.description = info.description;
    d.config_fields = info.fields.data();
    d.config_field_count = static_cast<uint32_t>(info.fields.size());
    d.config_field_size = sizeof(iotgw_config_field);
    // A host of another major has another table layout: keep nothing from it. It reads only
    // the frozen head of the descriptor and refuses the plugin with a clear message.
    if (host == nullptr || IOTGW_ABI_VERSION_MAJOR(host->abi_version) != info.abi_major) return &d;
    host_api_slot() = host;
    d.create = &create<T>;
    d.start = &start;
    d.stop = &stop;
    d.destroy = &destroy;
    if constexpr (T::accepts_messages) d.on_message = &on_message;
    if constexpr (T::has_endpoints) d.open_endpoint = &open_endpoint;
    if constexpr (std::is_base_of_v<CredentialsProvider, T>) {
        if constexpr (T::supports_renewal) {
            static const iotgw_credentials_api api{sizeof(iotgw_credentials_api), 0, &get_credentials<T>,
                                                   &renew_credentials<T>, &get_pending_credentials<T>};
            d.kind_api = &api;
        } else {
            // Without renewal the table ends where ABI 1.0 ended: nothing to promise.
            static const iotgw_credentials_api api{offsetof(iotgw_credentials_api, renew), 0, &get_credentials<T>,
                                                   nullptr, nullptr};
            d.kind_api = &api;
        }
    }
    if constexpr (std::is_base_of_v<JobHandler, T>) {
        static const iotgw_job_handler_api api{sizeof(iotgw_job_handler_api), 0, &describe_job_handler<T>,
                                               &start_job<T>, &cancel_job<T>};
        d.kind_api = &api;
    }
    return &d;
}

}  // namespace detail
}  // namespace sdk
}  // namespace iotgw

// Declares the library's entry point for plugin class `PluginClass`; the rest of the arguments
// are a brace-initialised iotgw::sdk::PluginInfo, e.g.
//   IOTGW_DECLARE_PLUGIN(Dedup, {.abi_major = 1, .abi_minor = 0, .name = "dedup",
//                                .version = "1.0.0", .description = "...", .fields = kFields})
#define IOTGW_DECLARE_PLUGIN(PluginClass, ...)                                                  \
    extern "C" IOTGW_EXPORT const iotgw_plugin_descriptor* iotgw_plugin_entry(                   \
        const iotgw_host_api* host) {                                                            \
        static const ::iotgw::sdk::PluginInfo iotgw_plugin_info __VA_ARGS__;                     \
        return ::iotgw::sdk::detail::entry<PluginClass>(host, iotgw_plugin_info);               \
    }
