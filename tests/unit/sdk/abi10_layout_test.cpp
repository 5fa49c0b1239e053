// ABI 1.0 is locked: every field of every 1.0 struct must keep its offset and size in the live
// header (sdk/include/iotgw/plugin_abi.h), and every 1.0 constant its value, or plugins built
// against 1.0 would misbehave in this gateway. The frozen layout is core/include/iotgw/core/
// abi10_layout.hpp; these checks run at compile time, so a breaking edit fails the build.
#include <iotgw/plugin_abi.h>
#include <iotgw/core/abi10_layout.hpp>

#include <gtest/gtest.h>

#include <cstddef>

namespace {

namespace abi10 = iotgw::core::abi10;

// One 1.0 field: the live header keeps it where 1.0 plugins were compiled to find it.
#define IOTGW_ABI10_FIELD(type, field)                                                             \
    static_assert(offsetof(::type, field) == offsetof(abi10::type, field),                         \
                  "ABI 1.0 break: " #type "::" #field " moved in sdk/include/iotgw/plugin_abi.h"); \
    static_assert(sizeof(::type::field) == sizeof(abi10::type::field),                             \
                  "ABI 1.0 break: " #type "::" #field " changed size in sdk/include/iotgw/plugin_abi.h")

// Later minors may only append: the live struct is never shorter than its 1.0 form.
#define IOTGW_ABI10_STRUCT(type)                                          \
    static_assert(sizeof(::type) >= sizeof(abi10::type),                  \
                  "ABI 1.0 break: " #type " is shorter than in ABI 1.0"); \
    static_assert(alignof(::type) == alignof(abi10::type), "ABI 1.0 break: " #type " alignment changed")

IOTGW_ABI10_STRUCT(iotgw_error);
IOTGW_ABI10_FIELD(iotgw_error, message);

IOTGW_ABI10_STRUCT(iotgw_message);
IOTGW_ABI10_FIELD(iotgw_message, size);
IOTGW_ABI10_FIELD(iotgw_message, flags);
IOTGW_ABI10_FIELD(iotgw_message, topic);
IOTGW_ABI10_FIELD(iotgw_message, topic_len);
IOTGW_ABI10_FIELD(iotgw_message, payload);
IOTGW_ABI10_FIELD(iotgw_message, payload_len);
IOTGW_ABI10_FIELD(iotgw_message, qos);
IOTGW_ABI10_FIELD(iotgw_message, reserved);

IOTGW_ABI10_STRUCT(iotgw_config_field);
IOTGW_ABI10_FIELD(iotgw_config_field, name);
IOTGW_ABI10_FIELD(iotgw_config_field, type);
IOTGW_ABI10_FIELD(iotgw_config_field, flags);
IOTGW_ABI10_FIELD(iotgw_config_field, default_value);
IOTGW_ABI10_FIELD(iotgw_config_field, description);
IOTGW_ABI10_FIELD(iotgw_config_field, min);
IOTGW_ABI10_FIELD(iotgw_config_field, max);
IOTGW_ABI10_FIELD(iotgw_config_field, choices);
IOTGW_ABI10_FIELD(iotgw_config_field, ref_kind);
IOTGW_ABI10_FIELD(iotgw_config_field, reserved);

IOTGW_ABI10_STRUCT(iotgw_credentials);
IOTGW_ABI10_FIELD(iotgw_credentials, size);
IOTGW_ABI10_FIELD(iotgw_credentials, reserved);
IOTGW_ABI10_FIELD(iotgw_credentials, cert_chain_path);
IOTGW_ABI10_FIELD(iotgw_credentials, private_key_path);
IOTGW_ABI10_FIELD(iotgw_credentials, ca_path);
IOTGW_ABI10_FIELD(iotgw_credentials, not_after_unix);

IOTGW_ABI10_STRUCT(iotgw_credentials_api);
IOTGW_ABI10_FIELD(iotgw_credentials_api, size);
IOTGW_ABI10_FIELD(iotgw_credentials_api, reserved);
IOTGW_ABI10_FIELD(iotgw_credentials_api, get);

IOTGW_ABI10_STRUCT(iotgw_host_api);
IOTGW_ABI10_FIELD(iotgw_host_api, size);
IOTGW_ABI10_FIELD(iotgw_host_api, abi_version);
IOTGW_ABI10_FIELD(iotgw_host_api, log);
IOTGW_ABI10_FIELD(iotgw_host_api, log_enabled);
IOTGW_ABI10_FIELD(iotgw_host_api, emit);
IOTGW_ABI10_FIELD(iotgw_host_api, post);
IOTGW_ABI10_FIELD(iotgw_host_api, monotonic_ns);
IOTGW_ABI10_FIELD(iotgw_host_api, timer_create);
IOTGW_ABI10_FIELD(iotgw_host_api, timer_arm_at);
IOTGW_ABI10_FIELD(iotgw_host_api, timer_cancel);
IOTGW_ABI10_FIELD(iotgw_host_api, timer_destroy);
IOTGW_ABI10_FIELD(iotgw_host_api, counter);
IOTGW_ABI10_FIELD(iotgw_host_api, counter_add);
IOTGW_ABI10_FIELD(iotgw_host_api, gauge);
IOTGW_ABI10_FIELD(iotgw_host_api, gauge_set);
IOTGW_ABI10_FIELD(iotgw_host_api, config_string);
IOTGW_ABI10_FIELD(iotgw_host_api, config_int);
IOTGW_ABI10_FIELD(iotgw_host_api, config_double);
IOTGW_ABI10_FIELD(iotgw_host_api, config_bool);
IOTGW_ABI10_FIELD(iotgw_host_api, config_duration_ms);
IOTGW_ABI10_FIELD(iotgw_host_api, config_array_size);
IOTGW_ABI10_FIELD(iotgw_host_api, config_array_string);
IOTGW_ABI10_FIELD(iotgw_host_api, config_map_size);
IOTGW_ABI10_FIELD(iotgw_host_api, config_map_entry);
IOTGW_ABI10_FIELD(iotgw_host_api, instance_name);
IOTGW_ABI10_FIELD(iotgw_host_api, thing_name);
IOTGW_ABI10_FIELD(iotgw_host_api, get_credentials);
IOTGW_ABI10_FIELD(iotgw_host_api, event_publish);
IOTGW_ABI10_FIELD(iotgw_host_api, event_subscribe);
IOTGW_ABI10_FIELD(iotgw_host_api, event_unsubscribe);

IOTGW_ABI10_STRUCT(iotgw_plugin_descriptor);
IOTGW_ABI10_FIELD(iotgw_plugin_descriptor, size);
IOTGW_ABI10_FIELD(iotgw_plugin_descriptor, abi_version);
IOTGW_ABI10_FIELD(iotgw_plugin_descriptor, kind);
IOTGW_ABI10_FIELD(iotgw_plugin_descriptor, reserved);
IOTGW_ABI10_FIELD(iotgw_plugin_descriptor, name);
IOTGW_ABI10_FIELD(iotgw_plugin_descriptor, version);
IOTGW_ABI10_FIELD(iotgw_plugin_descriptor, description);
IOTGW_ABI10_FIELD(iotgw_plugin_descriptor, config_fields);
IOTGW_ABI10_FIELD(iotgw_plugin_descriptor, config_field_count);
IOTGW_ABI10_FIELD(iotgw_plugin_descriptor, config_field_size);
IOTGW_ABI10_FIELD(iotgw_plugin_descriptor, create);
IOTGW_ABI10_FIELD(iotgw_plugin_descriptor, start);
IOTGW_ABI10_FIELD(iotgw_plugin_descriptor, stop);
IOTGW_ABI10_FIELD(iotgw_plugin_descriptor, destroy);
IOTGW_ABI10_FIELD(iotgw_plugin_descriptor, on_message);
IOTGW_ABI10_FIELD(iotgw_plugin_descriptor, open_endpoint);
IOTGW_ABI10_FIELD(iotgw_plugin_descriptor, kind_api);

#undef IOTGW_ABI10_FIELD
#undef IOTGW_ABI10_STRUCT

// The frozen head lets any gateway read any plugin's version; the major never changes in 1.x.
static_assert(abi10::kHeadSize == 8);
static_assert(IOTGW_ABI_MAJOR == abi10::kMajor,
              "a new ABI major is not ABI 1.x: update this lock deliberately");
static_assert(IOTGW_ABI_MINOR >= abi10::kMinor);

// Values compiled into 1.0 plugins (compared as numbers: the live and frozen enums are distinct types).
#define IOTGW_ABI10_VALUE(live, frozen)                                                  \
    static_assert(static_cast<long long>(live) == static_cast<long long>(abi10::frozen), \
                  "ABI 1.0 break: " #live " changed value in sdk/include/iotgw/plugin_abi.h")
IOTGW_ABI10_VALUE(IOTGW_OK, kOk);
IOTGW_ABI10_VALUE(IOTGW_ERR_FAILED, kErrFailed);
IOTGW_ABI10_VALUE(IOTGW_ERR_CONFIG, kErrConfig);
IOTGW_ABI10_VALUE(IOTGW_ERR_NOT_FOUND, kErrNotFound);
IOTGW_ABI10_VALUE(IOTGW_ERR_TYPE, kErrType);
IOTGW_ABI10_VALUE(IOTGW_ERR_UNSUPPORTED, kErrUnsupported);
IOTGW_ABI10_VALUE(IOTGW_ERR_WRONG_THREAD, kErrWrongThread);
IOTGW_ABI10_VALUE(IOTGW_ERR_NO_MEMORY, kErrNoMemory);
IOTGW_ABI10_VALUE(IOTGW_ERR_EXCEPTION, kErrException);
IOTGW_ABI10_VALUE(IOTGW_ERR_STOPPED, kErrStopped);
IOTGW_ABI10_VALUE(IOTGW_KIND_CREDENTIALS, kCredentials);
IOTGW_ABI10_VALUE(IOTGW_KIND_CONNECTION, kConnection);
IOTGW_ABI10_VALUE(IOTGW_KIND_SOURCE, kSource);
IOTGW_ABI10_VALUE(IOTGW_KIND_PROCESSOR, kProcessor);
IOTGW_ABI10_VALUE(IOTGW_KIND_SINK, kSink);
IOTGW_ABI10_VALUE(IOTGW_LOG_ERROR, kLogError);
IOTGW_ABI10_VALUE(IOTGW_LOG_WARNING, kLogWarning);
IOTGW_ABI10_VALUE(IOTGW_LOG_NOTICE, kLogNotice);
IOTGW_ABI10_VALUE(IOTGW_LOG_INFO, kLogInfo);
IOTGW_ABI10_VALUE(IOTGW_LOG_DEBUG, kLogDebug);
IOTGW_ABI10_VALUE(IOTGW_TYPE_STRING, kString);
IOTGW_ABI10_VALUE(IOTGW_TYPE_INT, kInt);
IOTGW_ABI10_VALUE(IOTGW_TYPE_FLOAT, kFloat);
IOTGW_ABI10_VALUE(IOTGW_TYPE_BOOL, kBool);
IOTGW_ABI10_VALUE(IOTGW_TYPE_DURATION, kDuration);
IOTGW_ABI10_VALUE(IOTGW_TYPE_STRING_ARRAY, kStringArray);
IOTGW_ABI10_VALUE(IOTGW_TYPE_REF, kRef);
IOTGW_ABI10_VALUE(IOTGW_TYPE_REF_ARRAY, kRefArray);
IOTGW_ABI10_VALUE(IOTGW_TYPE_PATH, kPath);
IOTGW_ABI10_VALUE(IOTGW_TYPE_STRING_MAP, kStringMap);
IOTGW_ABI10_VALUE(IOTGW_ENDPOINT_INPUT, kEndpointInput);
IOTGW_ABI10_VALUE(IOTGW_ENDPOINT_OUTPUT, kEndpointOutput);
IOTGW_ABI10_VALUE(IOTGW_MSG_RETAIN, kMsgRetain);
IOTGW_ABI10_VALUE(IOTGW_FIELD_REQUIRED, kFieldRequired);
IOTGW_ABI10_VALUE(IOTGW_FIELD_SECRET, kFieldSecret);
IOTGW_ABI10_VALUE(IOTGW_FIELD_HAS_MIN, kFieldHasMin);
IOTGW_ABI10_VALUE(IOTGW_FIELD_HAS_MAX, kFieldHasMax);
IOTGW_ABI10_VALUE(IOTGW_ERROR_MESSAGE_MAX, kErrorMessageMax);
#undef IOTGW_ABI10_VALUE
static_assert(IOTGW_MAKE_ABI_VERSION(1, 0) == 0x10000u, "the version encoding is part of the frozen head");

// The one check a compiler cannot do: the entry symbol's name.
TEST(Abi10Layout, EntrySymbolIsUnchanged) { EXPECT_STREQ(IOTGW_ENTRY_SYMBOL, abi10::kEntrySymbol); }

// The sizes the gateway's descriptor checks use come from the frozen layout, whatever the live
// header has grown to.
TEST(Abi10Layout, MinimumSizesAreThoseOfAbi10) {
    EXPECT_EQ(abi10::kDescriptorSize, offsetof(iotgw_plugin_descriptor, kind_api) + sizeof(void*));
    EXPECT_EQ(abi10::kCredentialsApiSize, offsetof(iotgw_credentials_api, get) + sizeof(void*));
    EXPECT_EQ(abi10::kHostApiSize, offsetof(iotgw_host_api, event_unsubscribe) + sizeof(void*));
}

}  // namespace
