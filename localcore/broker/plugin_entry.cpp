// mosquitto plugin API v5 entry points. Every callback catches: an exception must never unwind
// into mosquitto's C code; a failure denies the operation and is logged.
#include "mosquitto_api.hpp"

#include <memory>

#include "localcore_broker.hpp"

namespace {

using localcore::broker::LocalCoreBroker;

struct PluginInstance {
    mosquitto_plugin_id_t* id = nullptr;
    std::unique_ptr<LocalCoreBroker> broker;
};

template <typename Event, typename Fn>
int guarded(const char* what, void* event_data, void* userdata, int on_error, Fn fn) {
    auto* instance = static_cast<PluginInstance*>(userdata);
    try {
        return fn(*instance->broker, *static_cast<Event*>(event_data));
    } catch (const std::exception& e) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "localcore: %s failed: %s", what, e.what());
    } catch (...) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "localcore: %s failed with an unknown error", what);
    }
    return on_error;
}

int on_basic_auth(int, void* event_data, void* userdata) {
    return guarded<mosquitto_evt_basic_auth>("authentication", event_data, userdata, MOSQ_ERR_AUTH,
                                             [](LocalCoreBroker& b, auto& e) { return b.on_basic_auth(e); });
}
int on_acl_check(int, void* event_data, void* userdata) {
    return guarded<mosquitto_evt_acl_check>("authorization", event_data, userdata, MOSQ_ERR_ACL_DENIED,
                                            [](LocalCoreBroker& b, auto& e) { return b.on_acl_check(e); });
}
int on_message(int, void* event_data, void* userdata) {
    // A failing service must not drop the client's message: the request still counts as delivered.
    return guarded<mosquitto_evt_message>("a service request", event_data, userdata, MOSQ_ERR_SUCCESS,
                                          [](LocalCoreBroker& b, auto& e) { return b.on_message(e); });
}
int on_disconnect(int, void* event_data, void* userdata) {
    return guarded<mosquitto_evt_disconnect>("disconnect handling", event_data, userdata, MOSQ_ERR_SUCCESS,
                                             [](LocalCoreBroker& b, auto& e) { return b.on_disconnect(e); });
}
int on_tick(int, void* event_data, void* userdata) {
    return guarded<mosquitto_evt_tick>("the periodic registry check", event_data, userdata, MOSQ_ERR_SUCCESS,
                                       [](LocalCoreBroker& b, auto&) { return b.on_tick(); });
}

struct Registration {
    int event;
    MOSQ_FUNC_generic_callback callback;
};
constexpr Registration kCallbacks[] = {
    {MOSQ_EVT_BASIC_AUTH, on_basic_auth}, {MOSQ_EVT_ACL_CHECK, on_acl_check}, {MOSQ_EVT_MESSAGE, on_message},
    {MOSQ_EVT_DISCONNECT, on_disconnect}, {MOSQ_EVT_TICK, on_tick},
};

}  // namespace

// The target is built with -fvisibility=hidden, and a version script cannot export a hidden
// symbol: without this mosquitto finds no mosquitto_plugin_version() and refuses the plugin.
#define LOCALCORE_PLUGIN_EXPORT __attribute__((visibility("default")))

extern "C" {

LOCALCORE_PLUGIN_EXPORT int mosquitto_plugin_version(int supported_version_count,
                                                     const int* supported_versions) {
    for (int i = 0; i < supported_version_count; ++i) {
        if (supported_versions[i] == 5) return 5;
    }
    return -1;
}

LOCALCORE_PLUGIN_EXPORT int mosquitto_plugin_init(mosquitto_plugin_id_t* identifier, void** userdata,
                                                  mosquitto_opt* options, int option_count) {
    auto instance = std::make_unique<PluginInstance>();
    instance->id = identifier;
    try {
        instance->broker =
            std::make_unique<LocalCoreBroker>(localcore::broker::parse_broker_options(options, option_count));
    } catch (const std::exception& e) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "localcore: cannot start: %s", e.what());
        return MOSQ_ERR_INVAL;
    }
    for (const Registration& r : kCallbacks) {
        const int rc = mosquitto_callback_register(identifier, r.event, r.callback, nullptr, instance.get());
        if (rc != MOSQ_ERR_SUCCESS) {
            mosquitto_log_printf(MOSQ_LOG_ERR, "localcore: cannot register callback %d: MOSQ_ERR %d", r.event,
                                 rc);
            return rc;
        }
    }
    mosquitto_log_printf(MOSQ_LOG_INFO, "localcore: ready (AWS IoT Core emulation)");
    *userdata = instance.release();
    return MOSQ_ERR_SUCCESS;
}

LOCALCORE_PLUGIN_EXPORT int mosquitto_plugin_cleanup(void* userdata, mosquitto_opt*, int) {
    auto* instance = static_cast<PluginInstance*>(userdata);
    if (instance == nullptr) return MOSQ_ERR_SUCCESS;
    for (const Registration& r : kCallbacks)
        mosquitto_callback_unregister(instance->id, r.event, r.callback, nullptr);
    delete instance;
    return MOSQ_ERR_SUCCESS;
}

}  // extern "C"
