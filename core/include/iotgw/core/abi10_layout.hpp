// The plugin ABI 1.0 structs exactly as ABI 1.0 released them: a frozen copy of
// sdk/include/iotgw/plugin_abi.h before commit "ABI 1.1: on-device renewal of credentials"
// (f542b40), comments shortened, enum and macro values as constants, the structs under their C names in this
// namespace.
//
// Why a copy: plugins built against 1.0 keep running in every 1.y gateway, so the 1.0 layout is
// a promise the live header must keep forever. The core sizes its minimum checks on these
// structs (not on the live ones, which grow with every minor), and
// tests/unit/sdk/abi10_layout_test.cpp asserts that every field below still sits at the same
// offset with the same size in the live header. NEVER EDIT THIS FILE: if that test fails, the
// live header is what broke ABI 1.0.
#pragma once

#include <cstddef>
#include <cstdint>

namespace iotgw::core::abi10 {

inline constexpr uint32_t kMajor = 1;
inline constexpr uint32_t kMinor = 0;

// Status codes, kinds, log levels, value types and flags: values that plugins compiled in.
enum Status : int {
    kOk = 0,
    kErrFailed = 1,
    kErrConfig = 2,
    kErrNotFound = 3,
    kErrType = 4,
    kErrUnsupported = 5,
    kErrWrongThread = 6,
    kErrNoMemory = 7,
    kErrException = 8,
    kErrStopped = 9,
};
enum Kind : uint32_t { kCredentials = 1, kConnection = 2, kSource = 3, kProcessor = 4, kSink = 5 };
enum LogLevel : int { kLogError = 3, kLogWarning = 4, kLogNotice = 5, kLogInfo = 6, kLogDebug = 7 };
enum ValueType : uint32_t {
    kString = 1,
    kInt = 2,
    kFloat = 3,
    kBool = 4,
    kDuration = 5,
    kStringArray = 6,
    kRef = 7,
    kRefArray = 8,
    kPath = 9,
    kStringMap = 10,
};
enum EndpointDirection : uint32_t { kEndpointInput = 1, kEndpointOutput = 2 };
inline constexpr uint32_t kMsgRetain = 0x1u;
inline constexpr uint32_t kFieldRequired = 0x1u;
inline constexpr uint32_t kFieldSecret = 0x2u;
inline constexpr uint32_t kFieldHasMin = 0x4u;
inline constexpr uint32_t kFieldHasMax = 0x8u;
inline constexpr std::size_t kErrorMessageMax = 1024;
inline constexpr const char* kEntrySymbol = "iotgw_plugin_entry";

// Opaque host objects: only pointers to them cross the boundary.
struct iotgw_host_instance;
struct iotgw_config;
struct iotgw_delivery;
struct iotgw_timer;
struct iotgw_counter;
struct iotgw_gauge;

struct iotgw_error {
    char message[kErrorMessageMax];
};

struct iotgw_message {
    uint32_t size;
    uint32_t flags;
    const char* topic;
    size_t topic_len;
    const void* payload;
    size_t payload_len;
    int32_t qos;
    uint32_t reserved;
};

struct iotgw_config_field {
    const char* name;
    uint32_t type;
    uint32_t flags;
    const char* default_value;
    const char* description;
    double min;
    double max;
    const char* choices;
    uint32_t ref_kind;
    uint32_t reserved;
};

struct iotgw_credentials {
    uint32_t size;
    uint32_t reserved;
    const char* cert_chain_path;
    const char* private_key_path;
    const char* ca_path;
    int64_t not_after_unix;
};

struct iotgw_credentials_api {
    uint32_t size;
    uint32_t reserved;
    int (*get)(void* instance, iotgw_credentials* out, iotgw_error* err);
};

struct iotgw_host_api {
    uint32_t size;
    uint32_t abi_version;
    void (*log)(iotgw_host_instance* self, int level, const char* message);
    int (*log_enabled)(iotgw_host_instance* self, int level);
    int (*emit)(iotgw_host_instance* self, const iotgw_delivery* delivery, uint32_t endpoint_id,
                const iotgw_message* message);
    int (*post)(iotgw_host_instance* self, void (*fn)(void* user, int cancelled), void* user);
    int64_t (*monotonic_ns)(void);
    iotgw_timer* (*timer_create)(iotgw_host_instance* self, void (*fn)(void* user), void* user);
    int (*timer_arm_at)(iotgw_timer* timer, int64_t deadline_monotonic_ns);
    void (*timer_cancel)(iotgw_timer* timer);
    void (*timer_destroy)(iotgw_timer* timer);
    iotgw_counter* (*counter)(iotgw_host_instance* self, const char* name, const char* help);
    void (*counter_add)(iotgw_counter* counter, uint64_t delta);
    iotgw_gauge* (*gauge)(iotgw_host_instance* self, const char* name, const char* help);
    void (*gauge_set)(iotgw_gauge* gauge, double value);
    int (*config_string)(const iotgw_config* cfg, const char* key, const char** out, size_t* len);
    int (*config_int)(const iotgw_config* cfg, const char* key, int64_t* out);
    int (*config_double)(const iotgw_config* cfg, const char* key, double* out);
    int (*config_bool)(const iotgw_config* cfg, const char* key, int* out);
    int (*config_duration_ms)(const iotgw_config* cfg, const char* key, int64_t* out);
    int (*config_array_size)(const iotgw_config* cfg, const char* key, size_t* out);
    int (*config_array_string)(const iotgw_config* cfg, const char* key, size_t index, const char** out,
                               size_t* len);
    int (*config_map_size)(const iotgw_config* cfg, const char* key, size_t* out);
    int (*config_map_entry)(const iotgw_config* cfg, const char* key, size_t index, const char** map_key,
                            const char** value);
    const char* (*instance_name)(iotgw_host_instance* self);
    const char* (*thing_name)(iotgw_host_instance* self);
    int (*get_credentials)(iotgw_host_instance* self, const char* credentials_instance,
                           iotgw_credentials* out, iotgw_error* err);
    int (*event_publish)(iotgw_host_instance* self, const char* event, const char* payload_json, int retain);
    uint32_t (*event_subscribe)(iotgw_host_instance* self, const char* filter,
                                void (*fn)(void* user, const char* event, const char* payload_json),
                                void* user);
    void (*event_unsubscribe)(iotgw_host_instance* self, uint32_t subscription_id);
};

struct iotgw_plugin_descriptor {
    uint32_t size;
    uint32_t abi_version;
    uint32_t kind;
    uint32_t reserved;
    const char* name;
    const char* version;
    const char* description;
    const iotgw_config_field* config_fields;
    uint32_t config_field_count;
    uint32_t config_field_size;
    int (*create)(iotgw_host_instance* self, const iotgw_config* config, void** out_instance,
                  iotgw_error* err);
    int (*start)(void* instance, iotgw_error* err);
    void (*stop)(void* instance);
    void (*destroy)(void* instance);
    int (*on_message)(void* instance, const iotgw_delivery* delivery, uint32_t endpoint_id,
                      const iotgw_message* message, iotgw_error* err);
    int (*open_endpoint)(void* instance, uint32_t direction, const char* address, uint32_t* out_endpoint_id,
                         iotgw_error* err);
    const void* kind_api;
};

using iotgw_plugin_entry_fn = const iotgw_plugin_descriptor* (*)(const iotgw_host_api* host);

// The sizes the core's minimum checks use: no 1.x struct may be shorter than its 1.0 form.
inline constexpr std::size_t kDescriptorSize = sizeof(iotgw_plugin_descriptor);
inline constexpr std::size_t kCredentialsApiSize = sizeof(iotgw_credentials_api);
inline constexpr std::size_t kHostApiSize = sizeof(iotgw_host_api);
// The head (size, abi_version) every descriptor and host table of every ABI starts with.
inline constexpr std::size_t kHeadSize = offsetof(iotgw_plugin_descriptor, abi_version) + sizeof(uint32_t);

}  // namespace iotgw::core::abi10
