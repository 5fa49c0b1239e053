// The host API as a plugin sees it: timers, post from other threads, refusal after stop.
#include "runtime_test.hpp"

#include <iotgw/core/gateway.hpp>
#include <iotgw/plugin_abi.h>

#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <iotgw/sdk/host.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <optional>
#include <thread>
#include <utility>

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
        OwnGateway own;
        ASSERT_EQ(own.start(registry_, kConfig), "");
        ASSERT_EQ(core::host_api_table()->post(probe_handle("src"), &PostProbe::fn, &probe), IOTGW_OK);
        own.gw.stop();
    }  // its loop is destroyed with the call still queued
    EXPECT_EQ(probe.ran.load(), 0);
    EXPECT_EQ(probe.cancelled.load(), 1);
}

// Two timers due at the same moment: Asio queues both handlers in one pass of the loop, so the
// first handler acts on a timer whose handler is already queued. What it does to the other
// (cancel, destroy, re-arm) must be final, as the SDK's Timer promises.
struct TwinTimers {
    enum class Action { cancel, destroy, rearm_in_an_hour };
    Action action;
    iotgw_timer* timers[2] = {nullptr, nullptr};
    int fired[2] = {0, 0};

    struct Slot {
        TwinTimers* twins;
        int index;
    };
    Slot slots[2] = {{this, 0}, {this, 1}};

    static void fire(void* user) {
        auto* slot = static_cast<Slot*>(user);
        TwinTimers& t = *slot->twins;
        ++t.fired[slot->index];
        iotgw_timer*& other = t.timers[1 - slot->index];
        if (other == nullptr) return;
        const iotgw_host_api* api = core::host_api_table();
        switch (t.action) {
            case Action::cancel: api->timer_cancel(other); break;
            case Action::destroy:
                api->timer_destroy(other);
                other = nullptr;
                break;
            case Action::rearm_in_an_hour:
                api->timer_arm_at(other, api->monotonic_ns() + std::chrono::nanoseconds(std::chrono::hours(1)).count());
                break;
        }
    }
    int total() const { return fired[0] + fired[1]; }
};

class HostApiTimerTest : public HostApiRuntimeTest {
protected:
    // Arms both timers for the same past moment, then runs the loop once over both.
    void run_twins(TwinTimers& twins) {
        const iotgw_host_api* api = core::host_api_table();
        on_loop([&] {
            for (int i = 0; i < 2; ++i) {
                twins.timers[i] = api->timer_create(probe_handle("src"), &TwinTimers::fire, &twins.slots[i]);
                ASSERT_NE(twins.timers[i], nullptr);
            }
            const int64_t due = api->monotonic_ns();
            for (auto* t : twins.timers) ASSERT_EQ(api->timer_arm_at(t, due), IOTGW_OK);
        });
        // Both are due now: one pass of the loop queues both handlers, then runs them in turn.
        io_.restart();
        io_.poll();
        on_loop([&] {
            for (auto*& t : twins.timers)
                if (t != nullptr) api->timer_destroy(std::exchange(t, nullptr));
        });
    }
};

TEST_F(HostApiTimerTest, ATimerCancelledByAnotherHandlerAtItsDueTimeDoesNotFire) {
    TwinTimers twins{TwinTimers::Action::cancel};
    run_twins(twins);
    EXPECT_EQ(twins.total(), 1) << "fired: " << twins.fired[0] << " and " << twins.fired[1];
}

// Under ASan a handler that reaches the freed timer is a heap-use-after-free report.
TEST_F(HostApiTimerTest, ATimerDestroyedByAnotherHandlerAtItsDueTimeIsNeitherRunNorTouched) {
    TwinTimers twins{TwinTimers::Action::destroy};
    run_twins(twins);
    EXPECT_EQ(twins.total(), 1) << "fired: " << twins.fired[0] << " and " << twins.fired[1];
}

TEST_F(HostApiTimerTest, ATimerReArmedByAnotherHandlerAtItsDueTimeWaitsForItsNewDeadline) {
    TwinTimers twins{TwinTimers::Action::rearm_in_an_hour};
    run_twins(twins);
    EXPECT_EQ(twins.total(), 1) << "fired: " << twins.fired[0] << " and " << twins.fired[1];
}

// The SDK's Timer over the same host: cancel() from another timer's callback is final too.
TEST_F(HostApiTimerTest, AnSdkTimerCancelledByAnotherAtItsDueTimeDoesNotFire) {
    sdk::Host host(probe_handle("src"));
    int fired = 0;
    std::optional<sdk::Timer> a, b;
    on_loop([&] {
        a.emplace(host.timer([&] {
            ++fired;
            b->cancel();
        }));
        b.emplace(host.timer([&] {
            ++fired;
            a->cancel();
        }));
        const int64_t due = sdk::Timer::now_ns();
        a->arm_at(due);
        b->arm_at(due);
    });
    io_.restart();
    io_.poll();
    EXPECT_EQ(fired, 1);
    on_loop([&] {
        a.reset();
        b.reset();
    });
}

// Moving another Timer into an armed one must end the armed one: before, the host kept it armed
// with a callback into the freed state (a heap-use-after-free under ASan when it fired).
TEST_F(HostApiTimerTest, AnSdkTimerAssignedOverAnArmedOneNeverRunsTheOldCallback) {
    sdk::Host host(probe_handle("src"));
    int old_fired = 0;
    int new_fired = 0;
    std::optional<sdk::Timer> t;
    on_loop([&] {
        t.emplace(host.timer([&] { ++old_fired; }));
        t->arm_at(sdk::Timer::now_ns());
        *t = host.timer([&] { ++new_fired; });
    });
    io_.restart();
    io_.poll();
    EXPECT_EQ(old_fired, 0);
    EXPECT_EQ(new_fired, 0);  // never armed
    on_loop([&] { t.reset(); });
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
