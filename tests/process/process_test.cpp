// The real `iotgw` binary as an operator (or systemd) drives it: start, SIGHUP reload with a
// broken and then a good config, SIGTERM, exit codes. Waits are bounded polls of its log.
#include "child_process.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>


#include <chrono>

namespace iotgw::test {
namespace {

using namespace std::chrono_literals;

std::string tick_config(const std::string& payload) {
    return R"(
[gateway]
thing = "AMR-001"
stop_timeout = "2s"
[sources.beat]
type = "tick"
interval = "50ms"
topic = "amr/${thing}/heartbeat"
payload = ")" + payload + R"("
[sinks.console]
type = "log"
[[pipelines]]
name = "hb"
from = "beat"
to = ["console"]
)";
}

std::vector<std::string> run_args(const std::filesystem::path& config) {
    return {IOTGW_BINARY, "run", "--config", config.string(), "--plugin-dir", build_plugin_dir().string()};
}

TEST(ProcessTest, ReloadRefusesABrokenConfigKeepsRunningThenAcceptsAGoodOneAndStopsOnSigterm) {
    TempDir dir;
    auto config = dir.write("gw.toml", tick_config("first-{seq}"));
    ChildProcess p(run_args(config), dir.path() / "log");
    ASSERT_TRUE(p.wait_for("iotgw: started 2 instance(s) and 1 pipeline(s)")) << p.log();
    ASSERT_TRUE(p.wait_for("first-")) << p.log();

    dir.write("gw.toml", tick_config("second-{seq}") + "\nbogus_key = 1\n");
    p.signal(SIGHUP);
    ASSERT_TRUE(p.wait_for("reload refused: the new configuration is invalid")) << p.log();
    EXPECT_NE(p.log().find("unknown key 'bogus_key'"), std::string::npos) << p.log();
    // Still running the old config: more "first-" lines keep coming.
    const size_t before = p.count("first-");
    ASSERT_TRUE(p.wait_for("first-", 5s, before + 2)) << p.log();

    dir.write("gw.toml", tick_config("second-{seq}"));
    p.signal(SIGHUP);
    ASSERT_TRUE(p.wait_for("reloaded configuration from")) << p.log();
    ASSERT_TRUE(p.wait_for("second-1")) << p.log();

    const auto t0 = std::chrono::steady_clock::now();
    p.signal(SIGTERM);
    EXPECT_EQ(p.wait_exit(5s), 0) << p.log();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
    EXPECT_NE(p.log().find("<5>"), std::string::npos);
    EXPECT_NE(p.log().find("iotgw: stopped"), std::string::npos) << p.log();
}

TEST(ProcessTest, SigintStopsToo) {
    TempDir dir;
    auto config = dir.write("gw.toml", tick_config("x"));
    ChildProcess p(run_args(config), dir.path() / "log");
    ASSERT_TRUE(p.wait_for("iotgw: started")) << p.log();
    p.signal(SIGINT);
    EXPECT_EQ(p.wait_exit(5s), 0) << p.log();
}

TEST(ProcessTest, AnInvalidConfigIsRefusedBeforeAnythingStartsWithExitCode78) {
    TempDir dir;
    auto config = dir.write("gw.toml", tick_config("x") + "\n[sinks.console2]\ntype = \"log\"\nlevle = \"info\"\n");
    ChildProcess p(run_args(config), dir.path() / "log");
    EXPECT_EQ(p.wait_exit(10s), 78) << p.log();
    EXPECT_NE(p.log().find(config.string() + ":"), std::string::npos) << p.log();
    EXPECT_NE(p.log().find("unknown key 'levle'"), std::string::npos) << p.log();
    EXPECT_NE(p.log().find("refusing to start"), std::string::npos) << p.log();
    EXPECT_EQ(p.log().find("iotgw: started"), std::string::npos) << p.log();
}

TEST(ProcessTest, CheckListsEveryErrorAndExitsNonZero) {
    TempDir dir;
    auto config = dir.write("gw.toml", R"([gateway]
thing = "AMR-001"
[sources.beat]
type = "tick"
intervall = "1s"
topic = "t"
[sinks.console]
type = "log"
level = "loud"
[[pipelines]]
name = "p"
from = "beat"
to = ["consle"]
)");
    ChildProcess p({IOTGW_BINARY, "check", "--config", config.string(), "--plugin-dir", build_plugin_dir().string()},
              dir.path() / "log");
    EXPECT_EQ(p.wait_exit(10s), 1) << p.log();
    const std::string log = p.log();
    EXPECT_NE(log.find(config.string() + ":5:"), std::string::npos) << log;  // intervall
    EXPECT_NE(log.find("'loud'"), std::string::npos) << log;
    EXPECT_NE(log.find("'consle'"), std::string::npos) << log;
    EXPECT_NE(log.find("invalid: 3 error(s)"), std::string::npos) << log;
}

TEST(ProcessTest, SigtermEndsTheProcessWithinTheStopTimeoutEvenWhenAPluginWedgesTheLoop) {
    TempDir dir;
    auto config = dir.write("gw.toml", R"(
[gateway]
thing = "AMR-001"
stop_timeout = "1s"
[sources.beat]
type = "tick"
interval = "20ms"
topic = "t"
[processors.stuck]
type = "fixture_wedge"
block = "60s"
[sinks.console]
type = "log"
[[pipelines]]
name = "p"
from = "beat"
via = ["stuck"]
to = ["console"]
)");
    ChildProcess p({IOTGW_BINARY, "run", "--config", config.string(), "--plugin-dir", build_plugin_dir().string(),
               "--plugin-dir", (fixture_plugin_dir() / "wedge").string()},
              dir.path() / "log");
    ASSERT_TRUE(p.wait_for("wedging the event loop")) << p.log();
    const auto t0 = std::chrono::steady_clock::now();
    p.signal(SIGTERM);
    // stop_timeout (1 s) plus the core's own second, with slack for a loaded machine.
    EXPECT_EQ(p.wait_exit(6s), 1) << p.log();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
    EXPECT_NE(p.log().find("did not stop within the stop timeout (1000 ms); exiting now"), std::string::npos) << p.log();
}

TEST(ProcessTest, APluginWhoseCreateThrowsIsNamedWithItsFileAndNothingStarts) {
    TempDir dir;
    auto config = dir.write("gw.toml", R"(
[gateway]
thing = "AMR-001"
[sources.broken]
type = "fixture_throwing_create"
[sinks.console]
type = "log"
[[pipelines]]
name = "p"
from = "broken"
to = ["console"]
)");
    const auto fixture = fixture_plugin_dir() / "throwing_create";
    ChildProcess p({IOTGW_BINARY, "run", "--config", config.string(), "--plugin-dir", build_plugin_dir().string(),
               "--plugin-dir", fixture.string()},
              dir.path() / "log");
    EXPECT_EQ(p.wait_exit(10s), 78) << p.log();
    const std::string log = p.log();
    EXPECT_NE(log.find("instance 'broken' ([sources.broken] at " + config.string() + ":4:1, plugin "
                       "'fixture_throwing_create' from " + (fixture / "libiotgw-throwing_create.so").string() +
                       ") failed to initialise: simulated init failure"),
              std::string::npos)
        << log;
    EXPECT_EQ(log.find("iotgw: started"), std::string::npos) << log;
}

// A service manager's end of the notify socket: collects the datagrams iotgw sends.
class NotifySocket {
public:
    explicit NotifySocket(const std::filesystem::path& path) : path_(path) {
        fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
        EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    }
    ~NotifySocket() { close(fd_); }
    // Everything received until a datagram contains `needle` or `limit` passes.
    bool wait_for(const std::string& needle, std::chrono::milliseconds limit) {
        const auto end = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < end) {
            pollfd p{fd_, POLLIN, 0};
            if (poll(&p, 1, 50) == 1) {
                char buf[4096];
                const ssize_t n = recv(fd_, buf, sizeof buf, 0);
                if (n > 0) received_.append(buf, static_cast<size_t>(n)).append("|");
            }
            if (received_.find(needle) != std::string::npos) return true;
        }
        return false;
    }
    const std::string& received() const { return received_; }

private:
    std::filesystem::path path_;
    int fd_ = -1;
    std::string received_;
};

TEST(ProcessTest, TellsSystemdWhenReadyFeedsTheWatchdogFromTheLoopAndSaysWhenStopping) {
    TempDir dir;
    auto config = dir.write("gw.toml", tick_config("x"));
    NotifySocket notify(dir.path() / "notify");
    ChildProcess p(run_args(config), dir.path() / "log",
                   {"NOTIFY_SOCKET=" + (dir.path() / "notify").string(), "WATCHDOG_USEC=200000"});
    ASSERT_TRUE(notify.wait_for("READY=1", 10s)) << notify.received() << p.log();
    ASSERT_TRUE(notify.wait_for("WATCHDOG=1|WATCHDOG=1", 10s)) << notify.received();
    p.signal(SIGHUP);
    ASSERT_TRUE(notify.wait_for("RELOADING=1", 10s)) << notify.received();
    ASSERT_TRUE(notify.wait_for("STATUS=running (reloaded)", 10s)) << notify.received();
    p.signal(SIGTERM);
    ASSERT_TRUE(notify.wait_for("STOPPING=1", 10s)) << notify.received();
    EXPECT_EQ(p.wait_exit(5s), 0);
}

}  // namespace
}  // namespace iotgw::test
