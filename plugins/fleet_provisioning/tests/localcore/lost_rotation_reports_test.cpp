// Rotation reports the backend never received, end to end against localcore: two certificate
// rotations in a row whose reports are lost, then the backend takes reports again. Both old
// certificates must end INACTIVE in localcore's registry (the report of the first must survive
// the second rotation: issue 16, finding 7), the current one stays ACTIVE, and the gateway keeps
// working, whether it runs through the outage or is restarted during it.
//
// How the reports are lost: the `device` policy gets a Deny on iot:Publish to
// amr/<thing>/certificate/rotated, as an AWS IoT policy would (localcore's ACL refuses the
// PUBLISH, so its rotation backend never sees it); restoring the policy is the backend becoming
// reachable again. Nothing else is denied: heartbeats, the claim connection and provisioning work.
//
// How exactly two rotations happen: the first certificate lives 10 minutes and rotate_before is
// 9m50s, so it is due 10 s after issue; localcore issues the second (through fleet provisioning)
// with plugin_opt_device_cert_lifetime 10m, so it is due as soon as the first rotation ends; the
// broker is then restarted with 1y, so the third is not due. The gateway runs on this thread
// (GatewayHarness), so it stands still while the broker restarts: the switch cannot miss its
// window, however slow the machine.
#include "gateway_harness.hpp"
#include "localcore_fixture.hpp"
#include "provisioning_gateway.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>

namespace localcore::conformance {
namespace {

using iotgw::test::GatewayHarness;
using Clock = std::chrono::steady_clock;

// The repository's device policy (cloud/policies/device.json, what localcore's registry starts
// with); with `deny_reports`, plus a Deny of the rotation report topic, which wins over its Allow.
std::string device_policy(bool deny_reports) {
    const std::string text =
        read_text_file(fs::path(IOTGW_SOURCE_DIR) / "cloud" / "policies" / "device.json");
    if (!deny_reports) return text;
    rapidjson::Document doc;
    doc.Parse(text.c_str());
    if (!doc.IsObject() || !doc.HasMember("Statement") || !doc["Statement"].IsArray()) {
        ADD_FAILURE() << "cloud/policies/device.json is not a policy with a Statement list";
        return text;
    }
    auto& alloc = doc.GetAllocator();
    rapidjson::Value deny(rapidjson::kObjectType);
    deny.AddMember("Effect", "Deny", alloc);
    deny.AddMember("Action", rapidjson::Value(rapidjson::kArrayType).PushBack("iot:Publish", alloc), alloc);
    deny.AddMember("Resource",
                   rapidjson::Value(rapidjson::kArrayType)
                       .PushBack("arn:aws:iot:REGION:ACCOUNT_ID:topic/amr/${iot:Connection.Thing.ThingName}/"
                                 "certificate/rotated",
                                 alloc),
                   alloc);
    doc["Statement"].PushBack(deny, alloc);
    rapidjson::StringBuffer out;
    rapidjson::Writer<rapidjson::StringBuffer> writer(out);
    doc.Accept(writer);
    return out.GetString();
}

std::string outage_name(const ::testing::TestParamInfo<bool>& param) {
    return param.param ? "GatewayRestartedDuringTheOutage" : "GatewayKeepsRunning";
}

class LostRotationReportsTest : public LocalCoreTest, public ::testing::WithParamInterface<bool> {
protected:
    void SetUp() override {
        LocalCoreTest::SetUp();
        lc->put_policy("watch", kWatchPolicy);
        watch_id = lc->issue_claim_cert("watch", "watch");
        std::tie(prod_dir, sync_flag) = make_gateway_scratch(*lc);
    }

    // A certificate for `thing` issued by localcore, installed as the production pair.
    std::string install_cert(const std::string& thing, const std::string& lifetime) {
        return install_production_cert(*lc, prod_dir, thing, lifetime);
    }

    std::vector<std::string> prod_files() const { return file_names_in(prod_dir); }

    static double metric(GatewayHarness& h, const std::string& name) {
        for (const auto& s : h.gateway().metrics().snapshot())
            if (s.name == name) return s.value;
        return -1;
    }

    Identity watch_id;
    fs::path prod_dir, sync_flag;
};

// The gateway either keeps running through the outage, or is restarted during it (the
// unconfirmed reports must survive the restart: they are on disk, not only in memory).
TEST_P(LostRotationReportsTest, BothOldCertificatesEndInactiveOnceTheBackendTakesReportsAgain) {
    const bool restart_during_outage = GetParam();
    const auto started = Clock::now();
    const std::string thing = "AMR-001";
    const std::string report_topic = "amr/" + thing + "/certificate/rotated";
    lc->set_plugin_option("device_cert_lifetime", "10m");
    lc->restart_broker();
    lc->put_policy("device", device_policy(true));
    const std::string first_id = install_cert(thing, "10m");

    // A heartbeat subscriber; connected again after the broker restart (it does not reconnect).
    std::unique_ptr<TestMqttClient> watcher;
    const auto watch = [&](const std::string& client_id) {
        watcher = lc->connect(watch_id, client_id);
        if (watcher) watcher->subscribe("amr/" + thing + "/heartbeat");
        return watcher != nullptr;
    };
    const auto heartbeats = [&] { return watcher->count("amr/" + thing + "/heartbeat"); };
    ASSERT_TRUE(watch("watch-1"));

    const std::string config = fleet_config(*lc, thing, prod_dir, sync_flag, "rotate_before = \"9m50s\"");
    auto h = std::make_unique<GatewayHarness>();
    ASSERT_EQ(h->start(config), "") << h->log().joined();
    ASSERT_TRUE(h->run_until([&] { return heartbeats() >= 2; }, std::chrono::seconds(30)))
        << h->log().joined();

    // Rotation 1: proven with the second certificate, then its report goes unanswered. While it
    // is retried, localcore is switched to long-lived certificates for the next rotation.
    ASSERT_TRUE(h->run_until_logged("rotation started", std::chrono::seconds(40))) << h->log().joined();
    ASSERT_TRUE(h->run_until_logged("no reply to the rotation report within", std::chrono::seconds(40)))
        << h->log().joined();
    lc->set_plugin_option("device_cert_lifetime", "1y");
    lc->restart_broker();
    ASSERT_TRUE(watch("watch-2"));

    // Rotation 2 follows at once (the second certificate is already due) and loses its report too.
    const std::string never_answered = "never answered the rotation report";
    ASSERT_TRUE(
        h->run_until([&] { return h->lines_with(never_answered).size() >= 2; }, std::chrono::seconds(90)))
        << h->log().joined();
    const std::string second_id = certificate_id_of(prod_dir / "cert.pem.previous");
    const std::string third_id = certificate_id_of(prod_dir / "cert.pem");
    ASSERT_EQ(second_id.size(), 64u);
    ASSERT_EQ(third_id.size(), 64u);
    ASSERT_NE(second_id, first_id);
    ASSERT_NE(third_id, second_id);
    // Exactly two (a failed attempt would be retried and logged as started again, not succeeded).
    EXPECT_EQ(h->lines_with("rotation succeeded").size(), 2u) << h->log().joined();
    // The reports were lost, not answered: localcore refused them, and both old certificates
    // are still ACTIVE.
    EXPECT_NE(lc->broker_log().find("denied PUBLISH '" + report_topic + "'"), std::string::npos);
    EXPECT_EQ(lc->cert_status(first_id), "ACTIVE");
    EXPECT_EQ(lc->cert_status(second_id), "ACTIVE");
    EXPECT_EQ(lc->cert_status(third_id), "ACTIVE");

    if (restart_during_outage) {
        h->gateway().stop();
        h = std::make_unique<GatewayHarness>();
    }
    // The backend takes reports again.
    lc->put_policy("device", device_policy(false));
    if (restart_during_outage) {
        ASSERT_EQ(h->start(config), "") << h->log().joined();
    }

    // Both reports arrive: both old certificates end INACTIVE and detached from the thing.
    const auto confirmed = [&](const std::string& id) {
        return !h->lines_with("pending rotation report confirmed: the old certificate " + id.substr(0, 12))
                    .empty();
    };
    EXPECT_TRUE(
        h->run_until([&] { return confirmed(first_id) && confirmed(second_id); }, std::chrono::seconds(60)))
        << h->log().joined();
    EXPECT_EQ(lc->cert_status(first_id), "INACTIVE");
    EXPECT_EQ(lc->cert_status(second_id), "INACTIVE");
    EXPECT_EQ(lc->cert_status(third_id), "ACTIVE");
    const std::string described = lc->cli({"describe", "thing", thing});
    EXPECT_NE(described.find(third_id.substr(0, 12)), std::string::npos) << described;
    EXPECT_EQ(described.find(first_id.substr(0, 12)), std::string::npos) << described;
    EXPECT_EQ(described.find(second_id.substr(0, 12)), std::string::npos) << described;

    // The gateway keeps working with the third certificate: heartbeats flow, no further rotation,
    // and nothing is left pending on disk (no <cert>.reports, no <cert>.rotation).
    const size_t before = heartbeats();
    EXPECT_TRUE(h->run_until([&] { return heartbeats() >= before + 2; }, std::chrono::seconds(15)))
        << h->log().joined();
    EXPECT_EQ(certificate_id_of(prod_dir / "cert.pem"), third_id);
    EXPECT_EQ(h->lines_with("rotation succeeded").size(), restart_during_outage ? 0u : 2u)
        << h->log().joined();
    EXPECT_EQ(metric(*h, "provisioning.rollbacks"), 0);
    EXPECT_EQ(prod_files(),
              (std::vector<std::string>{"cert.pem", "cert.pem.previous", "key.pem", "key.pem.previous"}));
    std::cout << "[ INFO ] two lost rotation reports delivered after the outage; the test took "
              << std::chrono::duration<double>(Clock::now() - started).count() << " s\n";
}

INSTANTIATE_TEST_SUITE_P(Outage, LostRotationReportsTest, ::testing::Bool(), outage_name);

}  // namespace
}  // namespace localcore::conformance
