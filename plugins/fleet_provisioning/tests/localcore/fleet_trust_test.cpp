// fleet_provisioning and the pre-provisioning hook (issue 15), a real gateway against localcore:
// a locked thing cannot re-provision (the refusal is logged with its reason and retried on a
// backoff that grows, not in a loop) and recovers on its own once unlocked; another device's
// claim certificate stops provisioning at start (claim_scope = "device") and, forced through as
// "fleet", is refused by the hook with the real device untouched; `iotgw check` already reports
// it; a fleet-wide claim certificate (claim_scope = "fleet") works and is warned about at start.
#include "gateway_harness.hpp"
#include "localcore_fixture.hpp"
#include "provisioning_gateway.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <tuple>
#include <vector>

namespace localcore::conformance {
namespace {

using iotgw::test::build_plugin_dir;
using iotgw::test::GatewayHarness;

// Short refusal backoff for the tests: ceilings 300 ms, 600 ms, 1.2 s, 2.4 s, 2.4 s...
constexpr const char* kShortRefusals = "refused_retry_min = \"300ms\"\nrefused_retry_max = \"2400ms\"";

// `toml` with the claim credentials' files replaced by `claim`'s.
std::string with_claim(std::string toml, const Identity& usual, const Identity& claim) {
    for (const auto& [from, to] : {std::pair{usual.cert.string(), claim.cert.string()},
                                   std::pair{usual.key.string(), claim.key.string()}})
        toml.replace(toml.find(from), from.size(), to);
    return toml;
}

// The "at most <s>s now" ceilings of the refusal lines, in order.
std::vector<double> refusal_ceilings(const std::vector<std::string>& lines) {
    static const std::regex at_most(R"(the wait is at most ([0-9.]+)s now)");
    std::vector<double> out;
    for (const auto& l : lines) {
        std::smatch m;
        if (std::regex_search(l, m, at_most)) out.push_back(std::stod(m[1]));
    }
    return out;
}

class FleetTrustTest : public LocalCoreTest {
protected:
    void SetUp() override {
        LocalCoreTest::SetUp();
        std::tie(prod_dir, sync_flag) = make_gateway_scratch(*lc);
    }

    // A recovery waits at most 200 ms (recover_spread) here, not the default minute, so the
    // refusal backoff's growth stays what the timing below sees.
    std::string config(const std::string& thing, const std::string& extra = "") const {
        return fleet_config(*lc, thing, prod_dir, sync_flag, "recover_spread = \"200ms\"\n" + extra);
    }

    double metric(GatewayHarness& h, const std::string& name) {
        for (const auto& s : h.gateway().metrics().snapshot())
            if (s.name == name) return s.value;
        return -1;
    }

    fs::path prod_dir, sync_flag;
};

// 端末侵害: the operator locks the thing and revokes its production certificate. Its gateway
// tries to recover through its own claim certificate, is refused with the hook's reason, and
// backs off; once unlocked (e.g. the device was cleaned), it recovers by itself.
TEST_F(FleetTrustTest, ALockedThingCannotReprovisionBacksOffAndRecoversOnItsOwnOnceUnlocked) {
    const std::string thing = "AMR-001";
    fs::copy_file(lc->amr1.cert, prod_dir / "cert.pem");
    fs::copy_file(lc->amr1.key, prod_dir / "key.pem");
    fs::permissions(prod_dir / "key.pem", fs::perms::owner_read | fs::perms::owner_write);
    GatewayHarness h;
    ASSERT_EQ(h.start(config(thing, kShortRefusals)), "") << h.log().joined();
    ASSERT_TRUE(
        h.run_until_logged("connected to localhost:" + std::to_string(lc->port()) + " as '" + thing + "'",
                           std::chrono::seconds(15)))
        << h.log().joined();

    lc->cli({"lock-thing", "--thing", thing});
    lc->cli({"set-cert-status", lc->amr1.cert_id, "REVOKED"});
    ASSERT_TRUE(h.run_until_logged("recovery refused (", std::chrono::seconds(20))) << h.log().joined();

    // Keep it locked for a while: every refusal leaves no pending key behind, and the waits grow.
    size_t seen = 0;
    std::vector<bool> pending_after_refusal;
    h.run_until(
        [&] {
            const size_t n = h.lines_with("recovery refused (").size();
            for (; seen < n; ++seen)
                pending_after_refusal.push_back(fs::exists(prod_dir / "key.pem.pending"));
            return false;
        },
        std::chrono::seconds(10));
    const auto refusals = h.lines_with("recovery refused (");
    ASSERT_GE(refusals.size(), 3u) << h.log().joined();
    EXPECT_EQ(std::count(pending_after_refusal.begin(), pending_after_refusal.end(), true), 0);
    for (const auto& line : refusals) {
        EXPECT_NE(line.find("403 AccessDenied: the pre-provisioning hook refused the request (thing_locked): "
                            "thing AMR-001 is locked"),
                  std::string::npos)
            << line;
        EXPECT_NE(line.find("keeping the current certificate; retrying in "), std::string::npos) << line;
    }
    const auto ceilings = refusal_ceilings(refusals);
    ASSERT_EQ(ceilings.size(), refusals.size());
    EXPECT_DOUBLE_EQ(ceilings.front(), 0.3);
    for (size_t i = 1; i < ceilings.size(); ++i) EXPECT_GE(ceilings[i], ceilings[i - 1]) << i;
    EXPECT_DOUBLE_EQ(ceilings.back(), 2.4) << h.log().joined();
    // No storm: in ~10 s a busy loop would make hundreds of attempts; these waits allow a few.
    EXPECT_LE(metric(h, "provisioning.attempts"), 20) << h.log().joined();
    EXPECT_EQ(metric(h, "provisioning.refused"), static_cast<double>(refusals.size()));
    // Nothing was registered for the locked thing: its only certificate is the revoked one.
    EXPECT_EQ(certificate_id_of(prod_dir / "cert.pem"), lc->amr1.cert_id);

    lc->cli({"unlock-thing", "--thing", thing});
    ASSERT_TRUE(h.run_until_logged("recovery succeeded", std::chrono::seconds(30))) << h.log().joined();
    const std::string new_id = certificate_id_of(prod_dir / "cert.pem");
    EXPECT_NE(new_id, lc->amr1.cert_id);
    EXPECT_EQ(lc->cert_status(new_id), "ACTIVE");
    EXPECT_EQ(lc->cert_status(lc->amr1.cert_id), "REVOKED");
}

// AMR-001's claim certificate on AMR-002's gateway: provisioning refuses to start, naming the
// instance, the file and both devices. Forced through as claim_scope = "fleet" with the client id
// AMR-001's certificate may use (what a thief would do), the hook refuses RegisterThing, and
// AMR-002's real identity is untouched.
TEST_F(FleetTrustTest, AnotherDevicesClaimCertificateStopsProvisioningAndIsRefusedByTheHook) {
    const Identity& mine = lc->claim_for("AMR-002");
    const Identity& other = lc->claim_for("AMR-001");
    const std::string before = lc->cli({"describe", "thing", "AMR-002"});
    {
        GatewayHarness h;
        const std::string error = h.start(with_claim(config("AMR-002"), mine, other));
        EXPECT_NE(error.find("instance 'provisioning'"), std::string::npos) << error;
        EXPECT_NE(error.find("failed to start"), std::string::npos) << error;
        EXPECT_NE(error.find("the claim certificate " + other.cert.string() +
                             " of credentials instance 'claim' is bound to 'AMR-001' (its subject CN), not "
                             "to this gateway's thing 'AMR-002'"),
                  std::string::npos)
            << error;
    }
    {
        GatewayHarness h;
        ASSERT_EQ(
            h.start(with_claim(config("AMR-002", std::string("claim_scope = \"fleet\"\n") +
                                                     "client_id = \"claim-AMR-001\"\n" + kShortRefusals),
                               mine, other)),
            "")
            << h.log().joined();
        ASSERT_TRUE(h.run_until_logged("provisioning refused (", std::chrono::seconds(20)))
            << h.log().joined();
        const auto line = h.lines_with("provisioning refused (").front();
        EXPECT_NE(line.find("(serial_mismatch): claim certificate is bound to AMR-001, not AMR-002"),
                  std::string::npos)
            << line;
        EXPECT_FALSE(fs::exists(prod_dir / "cert.pem"));
        EXPECT_FALSE(fs::exists(prod_dir / "key.pem.pending"));
    }
    EXPECT_EQ(lc->cli({"describe", "thing", "AMR-002"}), before);
    EXPECT_EQ(lc->cert_status(lc->amr2.cert_id), "ACTIVE");
    // AMR-002's own gateway would still connect with its certificate.
    EXPECT_TRUE(lc->connect(lc->amr2, "AMR-002"));
}

// `iotgw check` (the real binary) on AMR-002's config: a dry run, in which fleet_provisioning can
// read the claim credentials when it is created and refuses another device's certificate as a
// config error of its instance; its own, a fleet-wide scope and a claim certificate not installed
// yet (before the factory step) pass.
class ClaimCheckTest : public FleetTrustTest {
protected:
    // Writes `toml` and runs `iotgw check` on it; the config's path is in `file`.
    CommandResult check(const std::string& toml) {
        file = lc->scratch() / ("gw-" + std::to_string(++configs) + ".toml");
        std::ofstream(file) << toml;
        return run_program(
            {IOTGW_BINARY, "check", "--config", file.string(), "--plugin-dir", build_plugin_dir().string()},
            lc->scratch() / ("check-" + std::to_string(configs) + ".log"));
    }

    // "<file>:<line>" of the fleet_provisioning instance's table in `toml`.
    std::string provisioning_table(const std::string& toml) const {
        const auto at = toml.find("[sources.provisioning]");
        return file.string() + ":" + std::to_string(1 + std::count(toml.begin(), toml.begin() + at, '\n'));
    }

    fs::path file;
    int configs = 0;
};

TEST_F(ClaimCheckTest, AnotherDevicesClaimCertificateFailsTheCheckAtTheProvisioningInstance) {
    const Identity& other = lc->claim_for("AMR-001");
    const std::string toml = with_claim(config("AMR-002"), lc->claim_for("AMR-002"), other);
    const CommandResult r = check(toml);
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("instance 'provisioning' ([sources.provisioning] at " + provisioning_table(toml)),
              std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("the claim certificate " + other.cert.string() +
                            " of credentials instance 'claim' is bound to 'AMR-001' (its subject CN), not "
                            "to this gateway's thing 'AMR-002'"),
              std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find(": invalid: 1 error(s)"), std::string::npos) << r.output;
}

TEST_F(ClaimCheckTest, ItsOwnClaimCertificatePassesTheCheck) {
    const CommandResult r = check(config("AMR-002"));
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find(file.string() + ": OK"), std::string::npos) << r.output;
}

TEST_F(ClaimCheckTest, FleetScopeAcceptsAnotherDevicesClaimCertificateInTheCheck) {
    const CommandResult r = check(with_claim(config("AMR-002", "claim_scope = \"fleet\""),
                                             lc->claim_for("AMR-002"), lc->claim_for("AMR-001")));
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(r.output.find("is bound to"), std::string::npos) << r.output;
}

TEST_F(ClaimCheckTest, AClaimCertificateNotInstalledYetPassesTheCheck) {
    const Identity absent{lc->scratch() / "claim" / "cert.pem", lc->scratch() / "claim" / "key.pem", ""};
    const CommandResult r = check(with_claim(config("AMR-002"), lc->claim_for("AMR-002"), absent));
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find(file.string() + ": OK"), std::string::npos) << r.output;
    // Not installed yet is the factory's normal state, not an error to print.
    EXPECT_EQ(r.output.find("cannot be used"), std::string::npos) << r.output;
}

// The weaker mode: one claim certificate for many devices, on the hook's fleet-wide list.
class FleetWideClaimTest : public ::testing::Test {
protected:
    void SetUp() override {
        templates = dir.path() / "provisioning";
        fs::create_directories(templates);
        for (const auto& e : fs::directory_iterator(fs::path(IOTGW_SOURCE_DIR) / "cloud" / "provisioning"))
            if (e.path().extension() == ".json") fs::copy_file(e.path(), templates / e.path().filename());
        LocalCoreOptions options;
        options.templates_dir = templates;
        lc = std::make_unique<LocalCore>(options);
        lc->start_broker();
    }

    TempDir dir;
    fs::path templates;
    std::unique_ptr<LocalCore> lc;
};

TEST_F(FleetWideClaimTest, FleetScopeWarnsAtStartAndProvisionsWithAFleetWideClaimCertificate) {
    // Its policy must let every device connect as claim-<thing> (`claim` pins the client id to the CN).
    std::string policy = read_text_file(fs::path(IOTGW_SOURCE_DIR) / "cloud" / "policies" / "claim.json");
    const std::string pinned = "claim-${iot:Certificate.Subject.CommonName}";
    policy.replace(policy.find(pinned), pinned.size(), "claim-*");
    lc->put_policy("claim-fleet", policy);
    const Identity fleet = lc->issue_claim_cert("claim-fleet");  // `issue-claim-cert --fleet-wide`
    ASSERT_EQ(fleet.cert_id.size(), 64u) << fleet.cert_id;
    std::ofstream(templates / "amr-hook.json")
        << R"({"rules": "device-bound-claim", "fleetWideClaimCertificateIds": [")" << fleet.cert_id << "\"]}";

    const auto [prod_dir, sync_flag] = make_gateway_scratch(*lc);
    const std::string thing = "AMR-120";
    const std::string toml = fleet_config(*lc, thing, prod_dir, sync_flag, "claim_scope = \"fleet\"");
    GatewayHarness h;
    ASSERT_EQ(h.start(with_claim(toml, lc->claim_for(thing), fleet)), "") << h.log().joined();
    EXPECT_TRUE(
        h.log().contains("claim_scope = \"fleet\": fleet-wide claim certificate: any device holding it "
                         "can register any serial; see docs/runbook-ja.md"))
        << h.log().joined();
    ASSERT_TRUE(h.run_until_logged("provisioning succeeded", std::chrono::seconds(30))) << h.log().joined();
    const std::string id = certificate_id_of(prod_dir / "cert.pem");
    EXPECT_EQ(lc->cert_status(id), "ACTIVE");
    EXPECT_NE(lc->cli({"describe", "thing", thing}).find(id.substr(0, 12)), std::string::npos);
}

// With claim_scope = "device" (the default) the same fleet-wide certificate names no device.
TEST_F(FleetWideClaimTest, DeviceScopeRefusesAFleetWideClaimCertificateAtStart) {
    const Identity fleet = lc->issue_claim_cert();  // `issue-claim-cert --fleet-wide`, CN localcore-claim
    const fs::path prod_dir = lc->scratch() / "prod";
    fs::create_directories(prod_dir);
    const std::string thing = "AMR-121";
    GatewayHarness h;
    const std::string error = h.start(with_claim(
        fleet_config(*lc, thing, prod_dir, lc->scratch() / "synchronized"), lc->claim_for(thing), fleet));
    EXPECT_NE(
        error.find("is bound to 'localcore-claim' (its subject CN), not to this gateway's thing 'AMR-121'"),
        std::string::npos)
        << error;
    EXPECT_NE(error.find("claim_scope = \"fleet\" if it is a fleet-wide one"), std::string::npos) << error;
}

}  // namespace
}  // namespace localcore::conformance
