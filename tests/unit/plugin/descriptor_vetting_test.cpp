// The descriptor rules, driven through add_builtin with hand-made descriptors: every rule a
// broken plugin can break, without building a library for each.
#include "plugin_test_support.hpp"

#include <iotgw/core/plugin_registry.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <string>

namespace iotgw {
namespace {

using core::LoadedPlugin;
using core::PluginRegistry;

int create_cb(iotgw_host_instance*, const iotgw_config*, void** out, iotgw_error*) {
    *out = nullptr;
    return IOTGW_OK;
}
void destroy_cb(void*) {}
int on_message_cb(void*, const iotgw_delivery*, uint32_t, const iotgw_message*, iotgw_error*) { return IOTGW_OK; }
int open_endpoint_cb(void*, uint32_t, const char*, uint32_t* id, iotgw_error*) {
    *id = 1;
    return IOTGW_OK;
}
int get_credentials_cb(void*, iotgw_credentials*, iotgw_error*) { return IOTGW_OK; }

const iotgw_config_field kFields[] = {
    {"topic", IOTGW_TYPE_STRING, IOTGW_FIELD_REQUIRED, nullptr, "a topic", 0, 0, nullptr, 0, 0},
    {"retries", IOTGW_TYPE_INT, IOTGW_FIELD_HAS_MIN, "3", "how often", 0, 0, nullptr, 0, 0},
};

// The entry point returns whatever the current test put here; builtins are plain functions.
const iotgw_plugin_descriptor* g_descriptor = nullptr;
const iotgw_host_api* g_seen_host = nullptr;
const iotgw_plugin_descriptor* test_entry(const iotgw_host_api* host) {
    g_seen_host = host;
    return g_descriptor;
}

class DescriptorVetting : public ::testing::Test {
protected:
    DescriptorVetting() {
        d.size = sizeof(d);
        d.abi_version = IOTGW_ABI_VERSION;
        d.kind = IOTGW_KIND_PROCESSOR;
        d.name = "stage";
        d.version = "0.3.1";
        d.description = "a stage";
        d.config_fields = kFields;
        d.config_field_count = 2;
        d.config_field_size = sizeof(iotgw_config_field);
        d.create = &create_cb;
        d.destroy = &destroy_cb;
        d.on_message = &on_message_cb;
        g_descriptor = &d;
    }
    ~DescriptorVetting() override { g_descriptor = nullptr; }

    // The failure message for the current descriptor, "builtin:stage" standing for the file.
    std::string refusal() {
        EXPECT_EQ(registry.add_builtin(&test_entry, "builtin:stage"), nullptr);
        EXPECT_EQ(registry.failures().size(), 1u);
        if (registry.failures().empty()) return "";
        EXPECT_EQ(registry.failures().front().origin, "builtin:stage");
        EXPECT_FALSE(registry.failures().front().fatal);
        return registry.failures().front().message;
    }

    test::RecordingHost host;
    PluginRegistry registry{host.api()};
    iotgw_plugin_descriptor d{};
    // An ABI 1.0 provider: its table ends after `get` (1.1 appended the renewal functions).
    iotgw_credentials_api credentials_api{offsetof(iotgw_credentials_api, renew), 0, &get_credentials_cb, nullptr,
                                          nullptr};
};

TEST_F(DescriptorVetting, BuiltinIsRegisteredWithItsOrigin) {
    const LoadedPlugin* p = registry.add_builtin(&test_entry, "builtin:stage");
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(g_seen_host, host.api());
    EXPECT_EQ(p->origin, "builtin:stage");
    EXPECT_EQ(p->descriptor, &d);
    EXPECT_EQ(p->kind, IOTGW_KIND_PROCESSOR);
    EXPECT_EQ(p->name, "stage");
    EXPECT_EQ(p->version, "0.3.1");
    EXPECT_EQ(p->description, "a stage");
    ASSERT_EQ(p->fields.size(), 2u);
    EXPECT_TRUE(p->fields[0].required);
    EXPECT_EQ(p->field("retries")->default_literal, "3");
    EXPECT_EQ(registry.find(IOTGW_KIND_PROCESSOR, "stage"), p);
    EXPECT_TRUE(registry.failures().empty());
}

TEST_F(DescriptorVetting, NullDescriptionAndNoFieldsAreFine) {
    d.description = nullptr;
    d.config_fields = nullptr;
    d.config_field_count = 0;
    const LoadedPlugin* p = registry.add_builtin(&test_entry, "builtin:stage");
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->description, "");
    EXPECT_TRUE(p->fields.empty());
}

TEST_F(DescriptorVetting, OlderMinorIsAccepted) {
    // A gateway of ABI 1.N loads every plugin of 1.0 .. 1.N.
    d.abi_version = IOTGW_MAKE_ABI_VERSION(IOTGW_ABI_MAJOR, 0);
    EXPECT_NE(registry.add_builtin(&test_entry, "builtin:stage"), nullptr);
}

TEST_F(DescriptorVetting, BuiltinDuplicateIsFatal) {
    ASSERT_NE(registry.add_builtin(&test_entry, "builtin:first"), nullptr);
    EXPECT_EQ(registry.add_builtin(&test_entry, "builtin:second"), nullptr);
    ASSERT_EQ(registry.failures().size(), 1u);
    EXPECT_TRUE(registry.failures().front().fatal);
    EXPECT_EQ(registry.failures().front().message,
              "plugin 'stage' (processor) is provided by both builtin:first and builtin:second: "
              "remove one of them from the plugin directories.");
}

TEST_F(DescriptorVetting, SameNameInAnotherKindIsNoDuplicate) {
    ASSERT_NE(registry.add_builtin(&test_entry, "builtin:a"), nullptr);
    d.kind = IOTGW_KIND_SINK;
    ASSERT_NE(registry.add_builtin(&test_entry, "builtin:b"), nullptr);
    EXPECT_TRUE(registry.failures().empty());
    const auto all = registry.plugins();
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0]->kind, IOTGW_KIND_PROCESSOR);
    EXPECT_EQ(all[1]->kind, IOTGW_KIND_SINK);
}

TEST_F(DescriptorVetting, PluginsAreSortedByKindOrderThenName) {
    const struct {
        iotgw_kind kind;
        const char* name;
    } order[] = {{IOTGW_KIND_SINK, "b"}, {IOTGW_KIND_CREDENTIALS, "z"}, {IOTGW_KIND_SINK, "a"},
                 {IOTGW_KIND_SOURCE, "m"}, {IOTGW_KIND_CONNECTION, "c"}};
    d.kind_api = &credentials_api;
    d.open_endpoint = &open_endpoint_cb;
    for (const auto& o : order) {
        d.kind = o.kind;
        d.name = o.name;
        ASSERT_NE(registry.add_builtin(&test_entry, std::string("builtin:") + o.name), nullptr);
    }
    std::vector<std::string> got;
    for (const auto* p : registry.plugins()) got.push_back(p->name);
    EXPECT_THAT(got, ::testing::ElementsAre("z", "c", "m", "a", "b"));
}

TEST_F(DescriptorVetting, NullEntryPoint) {
    EXPECT_EQ(registry.add_builtin(nullptr, "builtin:none"), nullptr);
    ASSERT_EQ(registry.failures().size(), 1u);
    EXPECT_EQ(registry.failures().front().message,
              "builtin:none: no entry point was given for this builtin plugin.");
}

TEST_F(DescriptorVetting, SizeTooSmallForTheFrozenHead) {
    d.size = 4;
    EXPECT_EQ(refusal(),
              "builtin:stage: wrong struct size: its descriptor is 4 bytes, too small to hold even the "
              "size and ABI version every descriptor starts with: the library was not built with the "
              "iotgw SDK; rebuild it against iotgw-sdk 1.x.");
}

TEST_F(DescriptorVetting, OlderMajorAbi) {
    d.abi_version = IOTGW_MAKE_ABI_VERSION(0, 7);
    EXPECT_EQ(refusal(), "builtin:stage: built for plugin ABI 0.7; this gateway (iotgw " IOTGW_VERSION
                         ") supports ABI 1.x: rebuild the plugin against iotgw-sdk 1.x, or install a "
                         "gateway that supports ABI 0.");
}

TEST_F(DescriptorVetting, SizeOneByteShortOfAbi10) {
    d.size = static_cast<uint32_t>(offsetof(iotgw_plugin_descriptor, kind_api) + sizeof(void*) - 1);
    EXPECT_THAT(refusal(), ::testing::StartsWith("builtin:stage: wrong struct size: its descriptor is " +
                                                 std::to_string(d.size) + " bytes"));
}

TEST_F(DescriptorVetting, InvalidKind) {
    d.kind = 42;
    EXPECT_EQ(refusal(), "builtin:stage: invalid plugin kind 42 (expected 1 credentials, 2 connection, "
                         "3 source, 4 processor, 5 sink or 6 job handler): the descriptor is corrupt; "
                         "rebuild it against iotgw-sdk 1.x.");
}

// Kind 6 exists since ABI 1.3: a descriptor claiming 1.2 cannot be a job handler.
TEST_F(DescriptorVetting, AJobHandlerClaimingAnOlderAbiIsRefused) {
    d.kind = IOTGW_KIND_JOB_HANDLER;
    d.abi_version = IOTGW_MAKE_ABI_VERSION(1, 2);
    EXPECT_EQ(refusal(), "builtin:stage: a job handler plugin must be written for plugin ABI 1.3 or newer, but "
                         "it declares 1.2: declare .abi_minor = 3 in IOTGW_DECLARE_PLUGIN and rebuild it.");
}

TEST_F(DescriptorVetting, MissingName) {
    d.name = nullptr;
    const std::string expected = "builtin:stage: the descriptor has no plugin name: set .name in "
                                 "IOTGW_DECLARE_PLUGIN and rebuild the plugin.";
    EXPECT_EQ(refusal(), expected);
}

TEST_F(DescriptorVetting, EmptyName) {
    d.name = "";
    EXPECT_THAT(refusal(), ::testing::HasSubstr("has no plugin name"));
}

TEST_F(DescriptorVetting, InvalidNames) {
    for (const char* bad : {"Stage", "my-stage", "my stage", "stage.v2", "\xc3\xbcnicode"}) {
        PluginRegistry fresh(host.api());
        d.name = bad;
        EXPECT_EQ(fresh.add_builtin(&test_entry, "builtin:stage"), nullptr) << bad;
        ASSERT_EQ(fresh.failures().size(), 1u);
        EXPECT_EQ(fresh.failures().front().message,
                  std::string("builtin:stage: plugin name '") + bad +
                      "' is not valid: it is what configs write as type = \"...\" and may contain "
                      "only a-z, 0-9 and '_': rename the plugin and rebuild it.");
    }
    d.name = "stage_2";
    EXPECT_NE(registry.add_builtin(&test_entry, "builtin:stage"), nullptr);
}

TEST_F(DescriptorVetting, MissingVersion) {
    d.version = nullptr;
    EXPECT_EQ(refusal(), "builtin:stage: plugin 'stage' (processor) has no version: set .version in "
                         "IOTGW_DECLARE_PLUGIN and rebuild the plugin.");
}

TEST_F(DescriptorVetting, MissingCreate) {
    d.create = nullptr;
    EXPECT_EQ(refusal(), "builtin:stage: plugin 'stage' (processor) has no create callback, so no "
                         "instance of it can be made: the descriptor is incomplete; declare the plugin "
                         "with IOTGW_DECLARE_PLUGIN and rebuild it against iotgw-sdk 1.x.");
}

TEST_F(DescriptorVetting, MissingDestroy) {
    d.destroy = nullptr;
    EXPECT_THAT(refusal(), ::testing::HasSubstr("plugin 'stage' (processor) has no destroy callback"));
}

TEST_F(DescriptorVetting, ProcessorWithoutOnMessage) {
    d.on_message = nullptr;
    EXPECT_EQ(refusal(), "builtin:stage: plugin 'stage' (processor) has no on_message callback, which "
                         "every processor needs to receive messages: implement it and rebuild the plugin.");
}

TEST_F(DescriptorVetting, SinkWithoutOnMessage) {
    d.kind = IOTGW_KIND_SINK;
    d.on_message = nullptr;
    EXPECT_EQ(refusal(), "builtin:stage: plugin 'stage' (sink) has no on_message callback, which "
                         "every sink needs to receive messages: implement it and rebuild the plugin.");
}

TEST_F(DescriptorVetting, SourceWithoutOnMessageIsFine) {
    d.kind = IOTGW_KIND_SOURCE;
    d.on_message = nullptr;
    EXPECT_NE(registry.add_builtin(&test_entry, "builtin:stage"), nullptr);
}

TEST_F(DescriptorVetting, ConnectionWithoutOpenEndpoint) {
    d.kind = IOTGW_KIND_CONNECTION;
    EXPECT_EQ(refusal(), "builtin:stage: plugin 'stage' (connection) has no open_endpoint callback, "
                         "which every connection needs to resolve \"name:address\" pipeline "
                         "references: implement it (iotgw::sdk::Connection does) and rebuild the plugin.");
}

TEST_F(DescriptorVetting, ConnectionWithOpenEndpoint) {
    d.kind = IOTGW_KIND_CONNECTION;
    d.open_endpoint = &open_endpoint_cb;
    EXPECT_NE(registry.add_builtin(&test_entry, "builtin:stage"), nullptr);
}

TEST_F(DescriptorVetting, CredentialsWithoutKindApi) {
    d.kind = IOTGW_KIND_CREDENTIALS;
    EXPECT_EQ(refusal(), "builtin:stage: plugin 'stage' (credentials) has no credentials interface "
                         "(kind_api is NULL): derive the plugin from iotgw::sdk::CredentialsProvider "
                         "and rebuild it.");
}

TEST_F(DescriptorVetting, CredentialsKindApiTooSmall) {
    d.kind = IOTGW_KIND_CREDENTIALS;
    credentials_api.size = 8;
    d.kind_api = &credentials_api;
    EXPECT_EQ(refusal(), "builtin:stage: plugin 'stage' (credentials): wrong struct size: its "
                         "credentials interface is 8 bytes, but the ABI 1.0 one has at least " +
                             std::to_string(offsetof(iotgw_credentials_api, renew)) +
                             "; rebuild it against iotgw-sdk 1.x.");
}

TEST_F(DescriptorVetting, CredentialsWithoutGet) {
    d.kind = IOTGW_KIND_CREDENTIALS;
    credentials_api.get = nullptr;
    d.kind_api = &credentials_api;
    EXPECT_THAT(refusal(), ::testing::HasSubstr("has a credentials interface without a get function"));
}

TEST_F(DescriptorVetting, CredentialsComplete) {
    d.kind = IOTGW_KIND_CREDENTIALS;
    d.kind_api = &credentials_api;
    EXPECT_NE(registry.add_builtin(&test_entry, "builtin:stage"), nullptr);
}

TEST_F(DescriptorVetting, SchemaWithoutFieldArray) {
    d.config_fields = nullptr;
    EXPECT_THAT(refusal(), ::testing::StartsWith("builtin:stage: plugin 'stage' (processor) has an "
                                                 "invalid config schema: "));
}

}  // namespace
}  // namespace iotgw
