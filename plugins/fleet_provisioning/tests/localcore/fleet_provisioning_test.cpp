// fleet_provisioning in a real gateway against localcore (a real mosquitto emulating AWS IoT
// Core's fleet provisioning, policies and the rotation backend): first boot through the claim
// certificate, rotation of a short-lived certificate while heartbeats keep flowing (the gap is
// measured, the old certificate ends INACTIVE), and a revoked claim certificate (clear error,
// bounded retries).
#include "clock_check.hpp"
#include "gateway_harness.hpp"
#include "localcore_fixture.hpp"
#include "provisioning_gateway.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

namespace localcore::conformance {
namespace {

using iotgw::test::GatewayHarness;
using Clock = std::chrono::steady_clock;

class FleetProvisioningTest : public LocalCoreTest {
protected:
    void SetUp() override {
        LocalCoreTest::SetUp();
        lc->put_policy("watch", kWatchPolicy);
        watch_id = lc->issue_claim_cert("watch", "watch");
        std::tie(prod_dir, sync_flag) = make_gateway_scratch(*lc);
    }

    // A recovery waits at most 1 s (recover_spread) here, not the default minute.
    std::string config(const std::string& thing, const std::string& provisioning_extra = "") const {
        return fleet_config(*lc, thing, prod_dir, sync_flag, "recover_spread = \"1s\"\n" + provisioning_extra);
    }

    std::unique_ptr<TestMqttClient> watcher(const std::string& thing) {
        auto w = lc->connect(watch_id, "watch-1");
        if (w) w->subscribe("amr/" + thing + "/heartbeat");
        return w;
    }

    // Heartbeat seq numbers in arrival order.
    static std::vector<int64_t> seqs(const TestMqttClient& w) {
        std::vector<int64_t> out;
        for (const auto& r : w.received()) {
            rapidjson::Document d;
            d.Parse(r.payload.c_str());
            if (d.IsObject() && d.HasMember("seq") && d["seq"].IsInt64()) out.push_back(d["seq"].GetInt64());
        }
        return out;
    }

    double metric(GatewayHarness& h, const std::string& name) {
        for (const auto& s : h.gateway().metrics().snapshot())
            if (s.name == name) return s.value;
        return -1;
    }

    // A certificate for `thing` issued by localcore, installed as the production pair.
    std::string install_cert(const std::string& thing, const std::string& lifetime) {
        return install_production_cert(*lc, prod_dir, thing, lifetime);
    }

    std::vector<std::string> prod_files() const { return file_names_in(prod_dir); }

    Identity watch_id;
    fs::path prod_dir, sync_flag;
};

TEST_F(FleetProvisioningTest, FirstBootProvisionsThroughTheClaimCertificateAndTheGatewayRunsAsTheThing) {
    const std::string thing = "AMR-101";
    auto w = watcher(thing);
    ASSERT_TRUE(w);
    GatewayHarness h;
    ASSERT_EQ(h.start(config(thing)), "") << h.log().joined();
    ASSERT_TRUE(h.run_until_logged("provisioning succeeded", std::chrono::seconds(30))) << h.log().joined();
    // The production connection runs as the thing, and its heartbeats arrive.
    ASSERT_TRUE(
        h.run_until([&] { return w->count("amr/" + thing + "/heartbeat") >= 2; }, std::chrono::seconds(10)))
        << h.log().joined();
    EXPECT_TRUE(
        h.log().contains("connected to localhost:" + std::to_string(lc->port()) + " as '" + thing + "'"))
        << h.log().joined();

    const std::string id = certificate_id_of(prod_dir / "cert.pem");
    ASSERT_EQ(id.size(), 64u);
    EXPECT_EQ(lc->cert_status(id), "ACTIVE");
    EXPECT_NE(lc->cli({"describe", "thing", thing}).find(id.substr(0, 12)), std::string::npos);
    // The key was made on the device and never left it: mode 0600, no pending or temporary files.
    EXPECT_EQ(fs::status(prod_dir / "key.pem").permissions() & fs::perms::mask,
              fs::perms::owner_read | fs::perms::owner_write);
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(prod_dir)) files.push_back(e.path().filename().string());
    std::sort(files.begin(), files.end());
    EXPECT_EQ(files, (std::vector<std::string>{"cert.pem", "key.pem"}));
    EXPECT_EQ(metric(h, "provisioning.succeeded"), 1);
    EXPECT_EQ(metric(h, "provisioning.failed"), 0);
}

TEST_F(FleetProvisioningTest, RotationOfAShortLivedCertificateKeepsHeartbeatsFlowingAndRetiresTheOldOne) {
    const std::string thing = "AMR-001";
    // A 10-minute certificate; rotate_before = 9m50s makes the rotation due ~10 s after issue, so
    // the production connection is up and heartbeats flow before it starts.
    const fs::path prefix = lc->fresh_path("short");
    const std::string old_id =
        trimmed(lc->cli({"issue-cert", "--thing", thing, "--out", prefix.string(), "--lifetime", "10m"}));
    fs::copy_file(fs::path(prefix) += ".pem", prod_dir / "cert.pem");
    fs::copy_file(fs::path(prefix) += ".key", prod_dir / "key.pem");
    fs::permissions(prod_dir / "key.pem", fs::perms::owner_read | fs::perms::owner_write);
    ASSERT_EQ(certificate_id_of(prod_dir / "cert.pem"), old_id);

    auto w = watcher(thing);
    ASSERT_TRUE(w);
    GatewayHarness h;
    ASSERT_EQ(h.start(config(thing, "rotate_before = \"9m50s\"")), "") << h.log().joined();

    // Arrival times of heartbeats, sampled while the loop runs.
    std::vector<Clock::time_point> arrivals;
    size_t seen = 0;
    auto sample = [&] {
        const size_t n = w->count("amr/" + thing + "/heartbeat");
        for (; seen < n; ++seen) arrivals.push_back(Clock::now());
    };
    ASSERT_TRUE(h.run_until(
        [&] {
            sample();
            return h.log().contains("rotation started");
        },
        std::chrono::seconds(30)))
        << h.log().joined();
    const size_t before_rotation = arrivals.size();
    EXPECT_GE(before_rotation, 3u) << "heartbeats should flow before the rotation starts";
    ASSERT_TRUE(h.run_until(
        [&] {
            sample();
            return h.log().contains("rotation succeeded");
        },
        std::chrono::seconds(40)))
        << h.log().joined();
    h.run_until(
        [&] {
            sample();
            return false;
        },
        std::chrono::seconds(3));

    // The new certificate is in use, the old one is INACTIVE and kept as the backup on disk.
    const std::string new_id = certificate_id_of(prod_dir / "cert.pem");
    ASSERT_EQ(new_id.size(), 64u);
    EXPECT_NE(new_id, old_id);
    EXPECT_EQ(lc->cert_status(new_id), "ACTIVE");
    EXPECT_EQ(lc->cert_status(old_id), "INACTIVE");
    EXPECT_EQ(certificate_id_of(prod_dir / "cert.pem.previous"), old_id);
    EXPECT_TRUE(h.log().contains("is now INACTIVE")) << h.log().joined();
    EXPECT_EQ(metric(h, "provisioning.rollbacks"), 0);

    // Heartbeats kept flowing: none lost (the offline queue covers the switch), and the gap is
    // the 1 s period plus one reconnect (measured here: ~2.2 s, of which ~2.1 s is the connect to
    // localcore's broker, as long as the gateway's very first connect).
    const auto s = seqs(*w);
    ASSERT_GE(s.size(), before_rotation + 3);
    for (size_t i = 1; i < s.size(); ++i)
        EXPECT_EQ(s[i], s[i - 1] + 1) << "heartbeat lost or reordered at " << i;
    double max_gap = 0;
    size_t at = 0;
    for (size_t i = 1; i < arrivals.size(); ++i) {
        const double gap = std::chrono::duration<double>(arrivals[i] - arrivals[i - 1]).count();
        if (gap > max_gap) {
            max_gap = gap;
            at = i;
        }
    }
    std::cout << "[ INFO ] largest gap between heartbeats across the rotation: " << max_gap
              << " s (heartbeat " << at << " of " << arrivals.size() << "; the rotation started after "
              << before_rotation << ")\n";
    EXPECT_LT(max_gap, 4.0) << h.log().joined();
}

TEST_F(FleetProvisioningTest, ARevokedClaimCertificateGivesAClearErrorAndBackoffWithoutABusyLoop) {
    lc->cli({"set-cert-status", lc->claim_for("AMR-102").cert_id, "REVOKED"});
    GatewayHarness h;
    ASSERT_EQ(h.start(config("AMR-102")), "") << h.log().joined();
    // Right after each failure the attempt's pending key must be gone (discarded).
    const std::string failed_line = "provisioning failed (";
    size_t failures_seen = 0;
    std::vector<bool> pending_after_failure;
    h.run_until(
        [&] {
            const size_t n = h.lines_with(failed_line).size();
            for (; failures_seen < n; ++failures_seen)
                pending_after_failure.push_back(fs::exists(prod_dir / "key.pem.pending"));
            return false;
        },
        std::chrono::seconds(8));
    EXPECT_EQ(std::count(pending_after_failure.begin(), pending_after_failure.end(), true), 0);
    const auto failures = h.lines_with("provisioning failed (cannot connect with the claim certificate " +
                                       lc->claim_for("AMR-102").cert.string() + " as 'claim-AMR-102'");
    ASSERT_GE(failures.size(), 2u) << h.log().joined();
    EXPECT_NE(failures[0].find("revoked, inactive or unknown claim certificate"), std::string::npos)
        << failures[0];
    EXPECT_NE(failures[0].find("retrying in "), std::string::npos) << failures[0];
    // retry_min 500 ms doubling up to 4 s (full jitter, 100 ms floor): far fewer than a busy loop.
    const double attempts = metric(h, "provisioning.attempts");
    EXPECT_GE(attempts, 2);
    EXPECT_LE(attempts, 40) << h.log().joined();
    EXPECT_EQ(metric(h, "provisioning.succeeded"), 0);
    EXPECT_FALSE(fs::exists(prod_dir / "cert.pem"));
}

TEST_F(FleetProvisioningTest, ADormantDeviceWhoseCertificateExpiredRecoversThroughTheClaimCertificate) {
    const std::string thing = "AMR-103";
    lc->cli({"create-thing", thing});
    const std::string old_id = install_cert(thing, "2s");
    std::this_thread::sleep_for(std::chrono::seconds(3));  // the device slept past the expiry
    auto w = watcher(thing);
    ASSERT_TRUE(w);
    GatewayHarness h;
    ASSERT_EQ(h.start(config(thing)), "") << h.log().joined();
    ASSERT_TRUE(h.run_until_logged("provisioning succeeded", std::chrono::seconds(30))) << h.log().joined();
    EXPECT_TRUE(h.log().contains("expired at")) << h.log().joined();
    ASSERT_TRUE(
        h.run_until([&] { return w->count("amr/" + thing + "/heartbeat") >= 2; }, std::chrono::seconds(10)))
        << h.log().joined();
    const std::string new_id = certificate_id_of(prod_dir / "cert.pem");
    EXPECT_NE(new_id, old_id);
    EXPECT_EQ(lc->cert_status(new_id), "ACTIVE");
    // The expired pair is kept as the backup, like any replaced pair, until the next promotion.
    EXPECT_EQ(prod_files(),
              (std::vector<std::string>{"cert.pem", "cert.pem.previous", "key.pem", "key.pem.previous"}));
    EXPECT_EQ(certificate_id_of(prod_dir / "cert.pem.previous"), old_id);
}

TEST_F(FleetProvisioningTest, ARevokedProductionCertificateIsReplacedWithoutOperatorAction) {
    const std::string thing = "AMR-001";
    const std::string old_id = install_cert(thing, "1y");
    auto w = watcher(thing);
    ASSERT_TRUE(w);
    GatewayHarness h;
    ASSERT_EQ(h.start(config(thing)), "") << h.log().joined();
    ASSERT_TRUE(
        h.run_until([&] { return w->count("amr/" + thing + "/heartbeat") >= 2; }, std::chrono::seconds(15)))
        << h.log().joined();
    // Revoked in the registry: localcore drops the connection and refuses new ones with it.
    lc->cli({"set-cert-status", old_id, "REVOKED"});
    ASSERT_TRUE(h.run_until_logged("recovery started", std::chrono::seconds(20))) << h.log().joined();
    // localcore refuses the revoked certificate in its CONNACK: refusals, not mere failures.
    EXPECT_TRUE(h.log().contains("the broker refused the certificate 3 times in a row: recovery through the "
                                 "claim certificate in "))
        << h.log().joined();
    EXPECT_TRUE(h.log().contains("times in a row with certificate " + old_id.substr(0, 12))) << h.log().joined();
    EXPECT_TRUE(h.log().contains("(last: not_authorized;")) << h.log().joined();
    ASSERT_TRUE(h.run_until_logged("recovery succeeded", std::chrono::seconds(30))) << h.log().joined();
    const std::string new_id = certificate_id_of(prod_dir / "cert.pem");
    ASSERT_EQ(new_id.size(), 64u);
    EXPECT_NE(new_id, old_id);
    EXPECT_EQ(lc->cert_status(new_id), "ACTIVE");
    EXPECT_EQ(lc->cert_status(old_id), "REVOKED");  // revocation is permanent; the report changed nothing
    EXPECT_TRUE(h.log().contains("a REVOKED certificate stays revoked")) << h.log().joined();
    const size_t before = w->count("amr/" + thing + "/heartbeat");
    EXPECT_TRUE(h.run_until([&] { return w->count("amr/" + thing + "/heartbeat") >= before + 2; },
                            std::chrono::seconds(10)))
        << h.log().joined();
    EXPECT_FALSE(fs::exists(prod_dir / "cert.pem.rotation"));
}

// The fleet-wide case: the endpoint goes away (every gateway's connects fail at once, and the
// claim connection would work again as soon as it is back). Failed connects that never reached
// a broker say nothing about the certificate: no gateway may replace its certificate for them.
TEST_F(FleetProvisioningTest, AnEndpointOutageDoesNotReplaceTheCertificate) {
    const std::string thing = "AMR-001";
    const std::string id = install_cert(thing, "1y");
    GatewayHarness h;
    ASSERT_EQ(h.start(config(thing, "recover_after = 2")), "") << h.log().joined();
    const auto connects = [&] { return metric(h, "cloud.connects"); };
    ASSERT_TRUE(h.run_until([&] { return connects() >= 1; }, std::chrono::seconds(15))) << h.log().joined();
    lc->stop_broker();
    // Well past recover_after failed attempts (and the 1 s spread a recovery would wait).
    ASSERT_TRUE(h.run_until([&] { return metric(h, "cloud.reconnect_attempts") >= 6; }, std::chrono::seconds(30)))
        << h.log().joined();
    h.run_for(std::chrono::milliseconds(1500));
    EXPECT_FALSE(h.log().contains("recovery started")) << h.log().joined();
    EXPECT_FALSE(h.log().contains("refused the certificate")) << h.log().joined();
    lc->start_broker();
    ASSERT_TRUE(h.run_until([&] { return connects() >= 2; }, std::chrono::seconds(30))) << h.log().joined();
    EXPECT_EQ(certificate_id_of(prod_dir / "cert.pem"), id);
    EXPECT_EQ(metric(h, "provisioning.attempts"), 0) << h.log().joined();
}

TEST_F(FleetProvisioningTest, NothingIsJudgedOrProvisionedWhileTheClockIsBeforeTheEarliestPlausibleTime) {
    GatewayHarness h;
    ASSERT_EQ(h.start(config("AMR-104", "earliest_time = \"2099-01-01\"")), "") << h.log().joined();
    h.run_until([] { return false; }, std::chrono::seconds(3));
    const auto lines = h.lines_with("the system clock says ");
    ASSERT_EQ(lines.size(), 1u) << h.log().joined();  // said once, not every 10 s check
    EXPECT_NE(lines[0].find("before 2099-01-01T00:00:00Z (earliest_time): it is wrong"), std::string::npos)
        << lines[0];
    EXPECT_EQ(metric(h, "provisioning.attempts"), 0);
    EXPECT_FALSE(fs::exists(prod_dir / "key.pem.pending"));
}

TEST_F(FleetProvisioningTest, AnUnconfirmedClockIsWaitedForABoundedTimeThenUsedWithAWarning) {
    if (iotgw::plugins::fleet_provisioning::read_clock(0, "").kernel_synced == 1)
        GTEST_SKIP() << "this machine's kernel reports its clock NTP-synchronised, so the clock cannot be "
                        "made to look unconfirmed here (the unit tests cover the judgement)";
    GatewayHarness h;
    ASSERT_EQ(h.start(fleet_config(*lc, "AMR-105", prod_dir, lc->scratch() / "no-such-flag",
                                   "clock_wait = \"2s\"")),
              "")
        << h.log().joined();
    const auto started = Clock::now();
    ASSERT_TRUE(h.run_until_logged("provisioning started", std::chrono::seconds(10))) << h.log().joined();
    const double waited = std::chrono::duration<double>(Clock::now() - started).count();
    EXPECT_GE(waited, 1.5);
    const std::string log = h.log().joined();
    const auto waiting = log.find("waiting up to 2.0s for a synchronised clock");
    const auto anyway = log.find("judging certificate expiry on it anyway");
    const auto provisioning = log.find("provisioning started");
    ASSERT_NE(waiting, std::string::npos) << log;
    ASSERT_NE(anyway, std::string::npos) << log;
    EXPECT_LT(waiting, anyway);
    EXPECT_LT(anyway, provisioning);
}

TEST_F(FleetProvisioningTest, TwoDevicesProvisionAtTheSameTime) {
    const fs::path second_dir = lc->scratch() / "prod2";
    fs::create_directories(second_dir);
    GatewayHarness a, b;
    ASSERT_EQ(a.start(config("AMR-106")), "") << a.log().joined();
    ASSERT_EQ(b.start(fleet_config(*lc, "AMR-107", second_dir, sync_flag)), "") << b.log().joined();
    // Both loops run in turns on this thread; paho's threads post into them meanwhile.
    const auto done = [](GatewayHarness& h) { return h.log().contains("provisioning succeeded"); };
    const auto deadline = Clock::now() + std::chrono::seconds(40);
    while (!(done(a) && done(b)) && Clock::now() < deadline) {
        a.run_until([&] { return done(a); }, std::chrono::milliseconds(50));
        b.run_until([&] { return done(b); }, std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(done(a)) << a.log().joined();
    ASSERT_TRUE(done(b)) << b.log().joined();
    const std::string id_a = certificate_id_of(prod_dir / "cert.pem");
    const std::string id_b = certificate_id_of(second_dir / "cert.pem");
    ASSERT_EQ(id_a.size(), 64u);
    ASSERT_EQ(id_b.size(), 64u);
    EXPECT_NE(id_a, id_b);
    EXPECT_NE(lc->cli({"describe", "thing", "AMR-106"}).find(id_a.substr(0, 12)), std::string::npos);
    EXPECT_NE(lc->cli({"describe", "thing", "AMR-107"}).find(id_b.substr(0, 12)), std::string::npos);
    EXPECT_EQ(lc->cli({"describe", "thing", "AMR-106"}).find(id_b.substr(0, 12)), std::string::npos);
}

// The weaker option: AWS makes the key (CreateKeysAndCertificate). Its claim policy must allow
// $aws/certificates/create/json, which cloud/policies/claim.json deliberately does not.
TEST_F(FleetProvisioningTest, CreateKeysAndCertificateIsAnExplicitWeakerOptionForFileCredentials) {
    const std::string policy = std::string(R"({"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": ["iot:Connect"], "Resource": ["arn:aws:iot:*:*:client/claim-*"]},
  {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"], "Resource": [
    "arn:aws:iot:*:*:topic/$aws/certificates/create/json",
    "arn:aws:iot:*:*:topic/$aws/certificates/create/json/*",
    "arn:aws:iot:*:*:topic/$aws/provisioning-templates/amr/provision/json",
    "arn:aws:iot:*:*:topic/$aws/provisioning-templates/amr/provision/json/*"]},
  {"Effect": "Allow", "Action": ["iot:Subscribe"], "Resource": [
    "arn:aws:iot:*:*:topicfilter/$aws/certificates/create/json/*",
    "arn:aws:iot:*:*:topicfilter/$aws/provisioning-templates/amr/provision/json/*"]}]})");
    lc->put_policy("claim-create-keys", policy);
    // AMR-108's own claim certificate, with that policy instead of `claim`.
    const fs::path claim_prefix = lc->fresh_path("AMR-108-claim-create-keys");
    lc->cli({"issue-claim-cert", "--thing", "AMR-108", "--policy", "claim-create-keys", "--out",
             claim_prefix.string()});
    const Identity claim{fs::path(claim_prefix) += ".pem", fs::path(claim_prefix) += ".key", ""};
    std::string toml = config("AMR-108", "method = \"create_keys\"");
    const Identity& usual = lc->claim_for("AMR-108");
    for (const auto& [from, to] : {std::pair{usual.cert.string(), claim.cert.string()},
                                   std::pair{usual.key.string(), claim.key.string()}})
        toml.replace(toml.find(from), from.size(), to);
    GatewayHarness h;
    ASSERT_EQ(h.start(toml), "") << h.log().joined();
    EXPECT_TRUE(h.log().contains("method = \"create_keys\": AWS makes the private key")) << h.log().joined();
    ASSERT_TRUE(h.run_until_logged("provisioning succeeded", std::chrono::seconds(30))) << h.log().joined();
    const std::string id = certificate_id_of(prod_dir / "cert.pem");
    ASSERT_EQ(id.size(), 64u);
    EXPECT_EQ(lc->cert_status(id), "ACTIVE");
    EXPECT_EQ(fs::status(prod_dir / "key.pem").permissions() & fs::perms::mask,
              fs::perms::owner_read | fs::perms::owner_write);
    EXPECT_EQ(prod_files(), (std::vector<std::string>{"cert.pem", "key.pem"}));
}

// With the standard claim policy (CSR only) the weaker method is refused by the policy: a clear
// failure, not a silent fallback.
TEST_F(FleetProvisioningTest, TheStandardClaimPolicyRefusesCreateKeysAndCertificate) {
    GatewayHarness h;
    ASSERT_EQ(h.start(config("AMR-109", "method = \"create_keys\"")), "") << h.log().joined();
    ASSERT_TRUE(h.run_until(
        [&] {
            return h.log().contains(
                "provisioning failed (subscription to $aws/certificates/create/json/accepted "
                "failed");
        },
        std::chrono::seconds(20)))
        << h.log().joined();
    EXPECT_TRUE(h.log().contains("Not authorized")) << h.log().joined();
    EXPECT_FALSE(fs::exists(prod_dir / "cert.pem"));
}

}  // namespace
}  // namespace localcore::conformance
