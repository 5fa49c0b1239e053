// ABI 1.4's fd watches as a plugin sees them: one-shot, level-triggered waits on the loop, and a
// disarm, re-arm, stop or destroy that is final. A socket pair stands in for a library's socket.
#include "runtime_test.hpp"

#include <iotgw/plugin_abi.h>
#include <iotgw/core/gateway.hpp>

#include <gtest/gtest.h>

#include <iotgw/sdk/host.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace iotgw::test {
namespace {

const std::string kConfig =
    ConfigText("AMR-007").source("src", "probe").sink("x", "collect").pipeline("p", "src", {"x"});

// Both ends of a local stream socket, closed at the end of the test.
struct SocketPair {
    SocketPair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0); }
    ~SocketPair() {
        for (int fd : fds)
            if (fd >= 0) ::close(fd);
    }
    SocketPair(const SocketPair&) = delete;
    SocketPair& operator=(const SocketPair&) = delete;
    int ours() const { return fds[0]; }
    void send_byte() const { ASSERT_EQ(::write(fds[1], "x", 1), 1); }
    void hang_up() {
        ::close(fds[1]);
        fds[1] = -1;
    }
    int fds[2] = {-1, -1};
};

// What the callback was told, in order: "r", "w" or "rw".
struct Calls {
    std::vector<std::string> seen;
    sdk::FdWatch::Handler handler() {
        return [this](bool readable, bool writable) {
            seen.push_back(std::string(readable ? "r" : "") + (writable ? "w" : ""));
        };
    }
};

class FdWatchTest : public RuntimeTest {
protected:
    void SetUp() override { start(kConfig); }
    void TearDown() override {
        on_loop([&] { watch.reset(); });
    }
    void run_loop() {
        io_.restart();
        io_.poll();
    }
    sdk::Host host() { return sdk::Host(probe_handle("src")); }

    SocketPair pair;
    Calls calls;
    std::optional<sdk::FdWatch> watch;
};

TEST_F(FdWatchTest, AReadableWaitCallsBackOnceWhenDataArrives) {
    on_loop([&] {
        watch.emplace(host().watch_fd(pair.ours(), calls.handler()));
        watch->arm(true, false);
    });
    run_loop();
    EXPECT_TRUE(calls.seen.empty()) << "called back before anything arrived";
    pair.send_byte();
    run_loop();
    EXPECT_EQ(calls.seen, std::vector<std::string>{"r"});
    pair.send_byte();
    run_loop();
    EXPECT_EQ(calls.seen.size(), 1u) << "a wait is one-shot: no second call without a new arm";
}

// The loop's epoll registration is edge-triggered: data that arrives while nothing is armed is
// announced to the loop once, with no wait to take it. The wait armed afterwards must still
// see it, or a library that reads only when told would stall.
TEST_F(FdWatchTest, DataThatArrivedWhileNothingWasArmedIsReportedWhenArmed) {
    // Other work pending, as in a running gateway: without it the loop would not look at epoll
    // at all, and the edge would still be there for the wait.
    std::optional<sdk::Timer> busy;
    on_loop([&] {
        busy.emplace(host().timer([] {}));
        busy->arm_in(std::chrono::hours(1));
        watch.emplace(host().watch_fd(pair.ours(), calls.handler()));
    });
    pair.send_byte();
    run_loop();  // the loop takes the edge; no wait is armed
    EXPECT_TRUE(calls.seen.empty());
    on_loop([&] { watch->arm(true, false); });
    run_loop();
    EXPECT_EQ(calls.seen, std::vector<std::string>{"r"});
    on_loop([&] { busy.reset(); });
}

// Called back and not read: the fd is still readable, so the next arm calls back again.
TEST_F(FdWatchTest, AnFdLeftReadableCallsBackAgainOnTheNextArm) {
    on_loop([&] {
        watch.emplace(host().watch_fd(pair.ours(), calls.handler()));
        watch->arm(true, false);
    });
    pair.send_byte();
    run_loop();
    ASSERT_EQ(calls.seen.size(), 1u);
    on_loop([&] { watch->arm(true, false); });
    run_loop();
    EXPECT_EQ(calls.seen, (std::vector<std::string>{"r", "r"}));
}

TEST_F(FdWatchTest, AWritableWaitOnAnEmptySocketCallsBackAtOnce) {
    on_loop([&] {
        watch.emplace(host().watch_fd(pair.ours(), calls.handler()));
        watch->arm(false, true);
    });
    run_loop();
    EXPECT_EQ(calls.seen, std::vector<std::string>{"w"});
}

// Both hold: one call that says both, and no second call for the other wait.
TEST_F(FdWatchTest, BothEventsReadyMakeOneCall) {
    pair.send_byte();
    on_loop([&] {
        watch.emplace(host().watch_fd(pair.ours(), calls.handler()));
        watch->arm(true, true);
    });
    run_loop();
    EXPECT_EQ(calls.seen, std::vector<std::string>{"rw"});
    run_loop();
    EXPECT_EQ(calls.seen.size(), 1u);
}

TEST_F(FdWatchTest, AHangUpIsReportedAsReadable) {
    on_loop([&] {
        watch.emplace(host().watch_fd(pair.ours(), calls.handler()));
        watch->arm(true, false);
    });
    pair.hang_up();
    run_loop();
    EXPECT_EQ(calls.seen, std::vector<std::string>{"r"});
}

TEST_F(FdWatchTest, DisarmAndDestroyAreFinalEvenWithTheReadinessQueued) {
    pair.send_byte();
    on_loop([&] {
        watch.emplace(host().watch_fd(pair.ours(), calls.handler()));
        watch->arm(true, false);  // ready now: the call is queued on the loop
        watch->disarm();
    });
    run_loop();
    EXPECT_TRUE(calls.seen.empty()) << "called back after disarm()";
    on_loop([&] {
        watch->arm(true, false);
        watch.reset();
    });
    run_loop();
    EXPECT_TRUE(calls.seen.empty()) << "called back after the watch was destroyed";
    EXPECT_NE(::fcntl(pair.ours(), F_GETFD), -1) << "the host closed the plugin's fd";
}

TEST_F(FdWatchTest, AClosedFdIsRefusedWithAClearError) {
    const int closed = ::dup(pair.ours());
    ASSERT_GE(closed, 0);
    ::close(closed);
    on_loop([&] {
        try {
            host().watch_fd(closed, calls.handler());
            ADD_FAILURE() << "a closed fd was accepted";
        } catch (const sdk::Error& e) {
            EXPECT_NE(std::string(e.what()).find("cannot watch file descriptor " + std::to_string(closed)),
                      std::string::npos)
                << e.what();
        }
    });
}

// A plugin that forgets its armed watch, with data waiting: the gateway's stop ends the wait
// (the callback never runs; under ASan a call into the freed watch would be reported), frees the
// watch with the instance, and leaves the fd open, as it is the plugin's.
TEST_F(FdWatchTest, AStopEndsAForgottenWatchWhichIsFreedWithoutClosingTheFd) {
    int called = 0;
    {
        OwnGateway own;
        ASSERT_EQ(own.start(registry_, kConfig), "");
        boost::asio::post(own.io, [&] {
            iotgw_fd_watch* w = core::host_api_table()->fd_watch_create(
                probe_handle("src"), pair.ours(), [](void* user, uint32_t) { ++*static_cast<int*>(user); },
                &called);
            ASSERT_NE(w, nullptr);
            EXPECT_EQ(core::host_api_table()->fd_watch_arm(w, IOTGW_FD_READABLE), IOTGW_OK);
        });
        own.io.poll();
        pair.send_byte();
        own.gw.stop();
        own.io.restart();
        own.io.poll();
    }
    EXPECT_EQ(called, 0);
    EXPECT_NE(::fcntl(pair.ours(), F_GETFD), -1) << "the host closed the plugin's fd";
}

}  // namespace
}  // namespace iotgw::test
