// fleet_provisioning in a real gateway against localcore (a real mosquitto emulating AWS IoT
// Core's fleet provisioning, policies and the rotation backend): first boot through the claim
// certificate, rotation of a short-lived certificate while heartbeats keep flowing (the gap is
// measured, the old certificate ends INACTIVE), and a revoked claim certificate (clear error,
// bounded retries).
#include "../../../mqtt/common/certificate_info.hpp"
#include "gateway_harness.hpp"
#include "localcore_fixture.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace localcore::conformance {
namespace {

using iotgw::test::GatewayHarness;
using Clock = std::chrono::steady_clock;

constexpr const char* kWatchPolicy = R"({"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": ["iot:Connect"], "Resource": ["arn:aws:iot:*:*:client/watch-*"]},
  {"Effect": "Allow", "Action": ["iot:Subscribe"], "Resource": ["arn:aws:iot:*:*:topicfilter/amr/*"]},
  {"Effect": "Allow", "Action": ["iot:Receive"], "Resource": ["arn:aws:iot:*:*:topic/amr/*"]}]})";

std::string trimmed(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    const auto e = s.find_last_not_of(" \t\r\n");
    return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::string cert_id_of(const fs::path& pem) {
    auto info = iotgw::plugins::mqtt_conn::read_certificate_info(pem.string());
    return info ? info->id : "";
}

class FleetProvisioningTest : public LocalCoreTest {
protected:
    void SetUp() override {
        LocalCoreTest::SetUp();
        lc->put_policy("watch", kWatchPolicy);
        watch_id = lc->issue_claim_cert("watch", "watch");
        prod_dir = lc->scratch() / "prod";
        fs::create_directories(prod_dir);
    }

    std::string config(const std::string& thing, const std::string& provisioning_extra = "") const {
        const std::string port = std::to_string(lc->port());
        return R"(
[gateway]
thing = ")" + thing +
               R"("
[credentials.prod]
type = "file"
cert = ")" + (prod_dir / "cert.pem").string() +
               R"("
key = ")" + (prod_dir / "key.pem").string() +
               R"("
ca = ")" + lc->ca().string() +
               R"("
await_provisioning = true
[credentials.claim]
type = "file"
cert = ")" + lc->claim.cert.string() +
               R"("
key = ")" + lc->claim.key.string() +
               R"("
ca = ")" + lc->ca().string() +
               R"("
[connections.cloud]
type = "mqtt"
endpoint = "localhost"
port = )" + port +
               R"(
credentials = "prod"
reconnect_min = "100ms"
reconnect_max = "1s"
connect_timeout = "5s"
[sources.provisioning]
type = "fleet_provisioning"
credentials = "prod"
claim_credentials = "claim"
connection = "cloud"
endpoint = "localhost"
port = )" + port +
               R"(
jitter = "0s"
retry_min = "500ms"
retry_max = "4s"
request_timeout = "5s"
prove_timeout = "10s"
)" + provisioning_extra +
               R"(
[sources.hb]
type = "heartbeat"
period = "1s"
[[pipelines]]
name = "heartbeat"
from = "hb"
to = ["cloud:amr/${thing}/heartbeat"]
[[pipelines]]
name = "rotation-report"
from = "provisioning"
to = ["cloud:amr/${thing}/certificate/rotated"]
[[pipelines]]
name = "rotation-reply"
from = "cloud:amr/${thing}/certificate/rotated/+"
to = ["provisioning"]
)";
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

    Identity watch_id;
    fs::path prod_dir;
};

TEST_F(FleetProvisioningTest, FirstBootProvisionsThroughTheClaimCertificateAndTheGatewayRunsAsTheThing) {
    const std::string thing = "AMR-101";
    auto w = watcher(thing);
    ASSERT_TRUE(w);
    GatewayHarness h;
    ASSERT_EQ(h.start(config(thing)), "") << h.log().joined();
    ASSERT_TRUE(
        h.run_until([&] { return h.log().contains("provisioning succeeded"); }, std::chrono::seconds(30)))
        << h.log().joined();
    // The production connection runs as the thing, and its heartbeats arrive.
    ASSERT_TRUE(
        h.run_until([&] { return w->count("amr/" + thing + "/heartbeat") >= 2; }, std::chrono::seconds(10)))
        << h.log().joined();
    EXPECT_TRUE(
        h.log().contains("connected to localhost:" + std::to_string(lc->port()) + " as '" + thing + "'"))
        << h.log().joined();

    const std::string id = cert_id_of(prod_dir / "cert.pem");
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
    ASSERT_EQ(cert_id_of(prod_dir / "cert.pem"), old_id);

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
    const std::string new_id = cert_id_of(prod_dir / "cert.pem");
    ASSERT_EQ(new_id.size(), 64u);
    EXPECT_NE(new_id, old_id);
    EXPECT_EQ(lc->cert_status(new_id), "ACTIVE");
    EXPECT_EQ(lc->cert_status(old_id), "INACTIVE");
    EXPECT_EQ(cert_id_of(prod_dir / "cert.pem.previous"), old_id);
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
    lc->cli({"set-cert-status", lc->claim.cert_id, "REVOKED"});
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
                                       lc->claim.cert.string() + " as 'claim-AMR-102'");
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

}  // namespace
}  // namespace localcore::conformance
