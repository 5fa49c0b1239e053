// The host API as a plugin sees it: timers, post from other threads, refusal after stop.
#include "runtime_test.hpp"

#include <iotgw/core/gateway.hpp>
#include <iotgw/plugin_abi.h>

#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>

namespace iotgw::test {
namespace {

TEST(HostApiTest, TableStartsWithItsSizeAndVersion) {
    const iotgw_host_api* api = core::host_api_table();
    EXPECT_EQ(api->size, sizeof(iotgw_host_api));
    EXPECT_EQ(api->abi_version, IOTGW_ABI_VERSION);
    // Every slot is filled: a NULL would crash a plugin that trusts the size.
    const auto* first = reinterpret_cast<const char*>(&api->log);
    const auto* end = reinterpret_cast<const char*>(api) + api->size;
    for (const char* p = first; p < end; p += sizeof(void*)) {
        void* slot = nullptr;
        std::memcpy(&slot, p, sizeof slot);
        EXPECT_NE(slot, nullptr) << "host API slot at offset " << (p - reinterpret_cast<const char*>(api));
    }
}

const std::string kConfig =
    ConfigText("AMR-007").source("src", "probe").sink("x", "collect").pipeline("p", "src", {"x"});

struct PostProbe {
    std::atomic<int> ran{0};
    std::atomic<int> cancelled{0};
    static void fn(void* user, int c) {
        auto* self = static_cast<PostProbe*>(user);
        (c ? self->cancelled : self->ran).fetch_add(1);
    }
};

class HostApiRuntimeTest : public RuntimeTest {
protected:
    void SetUp() override { start(kConfig); }
};

TEST_F(HostApiRuntimeTest, PostFromAnotherThreadRunsOnTheLoopThread) {
    iotgw_host_instance* handle = probe_handle("src");
    ASSERT_NE(handle, nullptr);
    PostProbe probe;
    std::thread t([&] { EXPECT_EQ(core::host_api_table()->post(handle, &PostProbe::fn, &probe), IOTGW_OK); });
    t.join();
    EXPECT_EQ(probe.ran.load(), 0);  // nothing runs until the loop does
    io_.restart();
    io_.poll();
    EXPECT_EQ(probe.ran.load(), 1);
    EXPECT_EQ(probe.cancelled.load(), 0);
}

TEST_F(HostApiRuntimeTest, WorkPostedBeforeAStopIsCancelledNotRun) {
    iotgw_host_instance* handle = probe_handle("src");
    PostProbe probe;
    ASSERT_EQ(core::host_api_table()->post(handle, &PostProbe::fn, &probe), IOTGW_OK);
    gw_.stop();
    io_.restart();
    io_.poll();
    EXPECT_EQ(probe.ran.load(), 0);
    EXPECT_EQ(probe.cancelled.load(), 1);
}

TEST_F(HostApiRuntimeTest, WorkStillQueuedWhenTheLoopIsDestroyedIsCancelledOnce) {
    PostProbe probe;
    {
        boost::asio::io_context other;
        CapturingLog log;
        core::Gateway gw(other, log.logger());
        auto cfg = test_config(registry_, kConfig);
        std::string error;
        ASSERT_TRUE(gw.start(std::move(*cfg), error)) << error;
        ASSERT_EQ(core::host_api_table()->post(probe_handle("src"), &PostProbe::fn, &probe), IOTGW_OK);
        gw.stop();
    }  // `other` is destroyed with the call still queued
    EXPECT_EQ(probe.ran.load(), 0);
    EXPECT_EQ(probe.cancelled.load(), 1);
}

TEST_F(HostApiRuntimeTest, InstanceAndThingNamesAreTheConfiguredOnes) {
    iotgw_host_instance* handle = probe_handle("src");
    EXPECT_STREQ(core::host_api_table()->instance_name(handle), "src");
    EXPECT_STREQ(core::host_api_table()->thing_name(handle), "AMR-007");
}

TEST_F(HostApiRuntimeTest, CountersAreNamedAfterTheInstance) {
    iotgw_host_instance* handle = probe_handle("src");
    iotgw_counter* c = core::host_api_table()->counter(handle, "things", "help text");
    core::host_api_table()->counter_add(c, 3);
    EXPECT_EQ(gw_.metrics().counter_value("src.things"), 3u);
}

TEST_F(HostApiRuntimeTest, AskingForCredentialsThatDoNotExistSaysSo) {
    iotgw_credentials c{};
    c.size = sizeof c;
    iotgw_error err{};
    EXPECT_EQ(core::host_api_table()->get_credentials(probe_handle("src"), "nope", &c, &err), IOTGW_ERR_NOT_FOUND);
    EXPECT_STREQ(err.message, "no credentials instance named 'nope'");
}

}  // namespace
}  // namespace iotgw::test
