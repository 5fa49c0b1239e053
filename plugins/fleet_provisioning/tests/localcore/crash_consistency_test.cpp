// Crash consistency of provisioning and rotation: the real gateway binary is killed with SIGKILL
// at each step (<iotgw/plugins/common/fault_point.hpp>: IOTGW_FAULT_POINT names the step), then started
// again without the fault. Whatever the step, the device must end connected as its thing with a
// working certificate, the rotation must end reported (the old certificate INACTIVE), and no
// stray file (a pending key, a temporary file, a rotation record) may be left.
#include "child_process.hpp"
#include "localcore_fixture.hpp"
#include "provisioning_gateway.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

namespace localcore::conformance {
namespace {

using iotgw::test::ChildProcess;

struct CrashCase {
    const char* point;
    bool rotation;  // false: first boot through the claim certificate
};

std::string case_name(const ::testing::TestParamInfo<CrashCase>& info) {
    std::string name = std::string(info.param.rotation ? "Rotation_" : "Provisioning_") + info.param.point;
    std::replace_if(
        name.begin(), name.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
    return name;
}

class CrashConsistencyTest : public LocalCoreTest, public ::testing::WithParamInterface<CrashCase> {
protected:
    void SetUp() override {
        LocalCoreTest::SetUp();
        std::tie(prod_dir, sync_flag) = make_gateway_scratch(*lc);
    }

    std::unique_ptr<ChildProcess> run_gateway(const std::string& config, const std::string& log_name,
                                              const std::vector<std::string>& env) {
        const fs::path file = lc->scratch() / "gateway.toml";
        std::ofstream(file) << config;
        return std::make_unique<ChildProcess>(
            std::vector<std::string>{IOTGW_BINARY, "run", "--config", file.string(), "--plugin-dir",
                                     iotgw::test::build_plugin_dir().string()},
            lc->scratch() / log_name, env);
    }

    std::vector<std::string> prod_files() const { return file_names_in(prod_dir); }

    fs::path prod_dir, sync_flag;
};

TEST_P(CrashConsistencyTest, AfterAKillAtThisStepARestartEndsWithAWorkingCertificateAndNoStrayFiles) {
    const CrashCase c = GetParam();
    const std::string thing = c.rotation ? "AMR-001" : "AMR-110";
    std::string old_id;
    std::string extra;
    if (c.rotation) {
        // Due ~2 s after issue (rotate_before is 2 s short of the 10-minute lifetime).
        const fs::path prefix = lc->fresh_path("short");
        old_id =
            trimmed(lc->cli({"issue-cert", "--thing", thing, "--out", prefix.string(), "--lifetime", "10m"}));
        fs::copy_file(fs::path(prefix) += ".pem", prod_dir / "cert.pem");
        fs::copy_file(fs::path(prefix) += ".key", prod_dir / "key.pem");
        fs::permissions(prod_dir / "key.pem", fs::perms::owner_read | fs::perms::owner_write);
        extra = "rotate_before = \"9m58s\"";
    }
    const std::string config = fleet_config(*lc, thing, prod_dir, sync_flag, extra);

    auto first = run_gateway(config, "first.log", {std::string("IOTGW_FAULT_POINT=") + c.point});
    const int status = first->wait_exit(std::chrono::seconds(60));
    ASSERT_EQ(status, 128 + SIGKILL) << "the gateway did not reach fault point " << c.point << ":\n"
                                     << first->log();

    auto second = run_gateway(config, "second.log", {});
    const std::string done =
        c.rotation ? "rotation succeeded"
                   : "connected to localhost:" + std::to_string(lc->port()) + " as '" + thing + "'";
    ASSERT_TRUE(second->wait_for(done, std::chrono::seconds(60))) << "first run:\n"
                                                                  << first->log() << "\nsecond run:\n"
                                                                  << second->log();
    if (!c.rotation)
        ASSERT_TRUE(
            second->wait_for("connected to localhost:" + std::to_string(lc->port()) + " as '" + thing + "'",
                             std::chrono::seconds(30)))
            << second->log();
    else
        ASSERT_TRUE(second->wait_for("as '" + thing + "'", std::chrono::seconds(30))) << second->log();

    // A working certificate: registered, ACTIVE, attached to the thing, and the one the gateway
    // connected with (the link line names the certificate id it used).
    const auto info = iotgw::plugins::common::read_certificate_info((prod_dir / "cert.pem").string());
    ASSERT_TRUE(info) << second->log();
    EXPECT_EQ(lc->cert_status(info->id), "ACTIVE");
    EXPECT_NE(lc->cli({"describe", "thing", thing}).find(info->id.substr(0, 12)), std::string::npos);
    if (c.rotation) {
        EXPECT_NE(info->id, old_id);
        EXPECT_EQ(lc->cert_status(old_id), "INACTIVE") << second->log();
        EXPECT_EQ(prod_files(),
                  (std::vector<std::string>{"cert.pem", "cert.pem.previous", "key.pem", "key.pem.previous"}))
            << second->log();
    } else {
        EXPECT_EQ(prod_files(), (std::vector<std::string>{"cert.pem", "key.pem"})) << second->log();
    }
    second->signal(SIGTERM);
    EXPECT_EQ(second->wait_exit(std::chrono::seconds(15)), 0) << second->log();
}

// Every step of both flows where a crash leaves a different state on disk or in the registry.
INSTANTIATE_TEST_SUITE_P(
    EveryStep, CrashConsistencyTest,
    ::testing::Values(CrashCase{"file.key_created", false}, CrashCase{"fleet.certificate_created", false},
                      CrashCase{"fleet.registered", false}, CrashCase{"slots.cert_stored", false},
                      CrashCase{"slots.promote.key_moved", false}, CrashCase{"fleet.promoted", false},
                      CrashCase{"file.key_created", true}, CrashCase{"fleet.registered", true},
                      CrashCase{"slots.cert_stored", true}, CrashCase{"fleet.recorded", true},
                      CrashCase{"slots.promote.backup_linked", true},
                      CrashCase{"slots.promote.key_moved", true}, CrashCase{"fleet.promoted", true},
                      CrashCase{"fleet.proven", true}, CrashCase{"fleet.report_sent", true}),
    case_name);

}  // namespace
}  // namespace localcore::conformance
