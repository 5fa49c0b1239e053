// RegisterThing with the amr template's pre-provisioning hook (cloud/provisioning/amr-hook.json)
// against a real registry and CA, without a broker: a device's claim certificate registers only its
// own serial, an operator lock holds until unlocked, and a fleet-wide claim certificate on the
// allow-list may register any serial.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <optional>

#include <rapidjson/document.h>

#include "atomic_file.hpp"
#include "ca.hpp"
#include "provisioning.hpp"
#include "registry.hpp"
#include "service_reply.hpp"
#include "test_support.hpp"

// Inside localcore, in the namespace of the shared test helpers (service_reply.hpp): the services
// and helpers need no using.
namespace localcore::test {
namespace {

namespace fs = std::filesystem;
using iotgw::test::TempDir;
using ::testing::HasSubstr;

constexpr std::int64_t kNow = 1'700'000'000'000;

class ProvisioningHookFlow : public ::testing::Test {
protected:
    void SetUp() override {
        Ca::init(dir_.path() / "ca");
        ca_.emplace(Ca::open(dir_.path() / "ca"));
        registry_.emplace(Registry::open(dir_.path()));
        for (const char* policy : {"device", "claim"})
            registry_->put_policy(policy, localcore::read_file(fs::path(LOCALCORE_POLICY_DIR) /
                                                               (std::string(policy) + ".json")));
        options_.templates_dir = dir_.path() / "templates";
        fs::create_directories(options_.templates_dir);
        for (const char* file : {"amr-template.json", "amr-hook.json"})
            fs::copy_file(fs::path(LOCALCORE_TEMPLATE_DIR) / file, options_.templates_dir / file);
        fp_.emplace(*registry_, *ca_, dir_.path(), options_);
    }

    // A claim certificate registered with the claim policy; its subject CN is `cn`.
    std::string claim_certificate(const std::string& cn) {
        const auto issued = ca_->issue(cn, std::chrono::hours(24));
        return registry_->add_certificate(issued.cert_pem, CertStatus::Active, {}, {"claim"});
    }

    Reply call(const std::string& topic, const std::string& payload, const std::string& claim_id,
               const std::string& client_id) {
        return only_reply(
            fp_->handle(topic, payload, RequesterContext{client_id, claim_id, std::nullopt}, kNow), topic);
    }

    // CreateKeysAndCertificate then RegisterThing with `parameters`, both from the claim connection.
    // Returns the RegisterThing reply; `created_id` gets the new certificate's id.
    Reply provision(const std::string& claim_id, const std::string& parameters,
                    std::string* created_id = nullptr) {
        const std::string client = "claim-test";
        const Reply created = call(kCreate, "{}", claim_id, client);
        EXPECT_EQ(created.topic, std::string(kCreate) + "/accepted");
        if (created_id) *created_id = created.str("certificateId");
        return call(kRegisterAmr,
                    R"({"certificateOwnershipToken": ")" + created.str("certificateOwnershipToken") +
                        R"(", "parameters": )" + parameters + "}",
                    claim_id, client);
    }

    static void expect_refused(const Reply& r, const std::string& reason, const std::string& sentence) {
        EXPECT_EQ(r.topic, std::string(kRegisterAmr) + "/rejected");
        EXPECT_EQ(r.status(), 403);
        EXPECT_EQ(r.str("errorCode"), "AccessDenied");
        EXPECT_THAT(r.str("errorMessage"),
                    HasSubstr("pre-provisioning hook refused the request (" + reason + ")"));
        EXPECT_THAT(r.str("errorMessage"), HasSubstr(sentence));
    }

    TempDir dir_;
    std::optional<Ca> ca_;
    std::optional<Registry> registry_;
    ProvisioningOptions options_;
    std::optional<FleetProvisioning> fp_;
};

TEST_F(ProvisioningHookFlow, OwnClaimCertificateRegistersItsOwnSerial) {
    const auto claim = claim_certificate("AMR-001");
    std::string id;
    const Reply r = provision(claim, R"({"SerialNumber": "AMR-001"})", &id);
    EXPECT_EQ(r.topic, std::string(kRegisterAmr) + "/accepted");
    EXPECT_EQ(r.str("thingName"), "AMR-001");
    EXPECT_EQ(registry_->certificate(id)->status, CertStatus::Active);
}

TEST_F(ProvisioningHookFlow, AnotherDevicesClaimCannotRegisterItAndLeavesItUntouched) {
    std::string amr2_cert;
    ASSERT_EQ(provision(claim_certificate("AMR-002"), R"({"SerialNumber": "AMR-002"})", &amr2_cert).topic,
              std::string(kRegisterAmr) + "/accepted");
    const auto before = registry_->snapshot();

    std::string intruder_cert;
    const Reply r = provision(claim_certificate("AMR-001"), R"({"SerialNumber": "AMR-002"})", &intruder_cert);
    expect_refused(r, "serial_mismatch", "claim certificate is bound to AMR-001, not AMR-002");

    const auto after = registry_->snapshot();
    EXPECT_EQ(after.things.at("AMR-002").attributes, before.things.at("AMR-002").attributes);
    EXPECT_EQ(after.certificates.at(amr2_cert).status, CertStatus::Active);
    EXPECT_EQ(after.certificates.at(amr2_cert).things, std::vector<std::string>{"AMR-002"});
    EXPECT_EQ(after.certificates.at(amr2_cert).policies, std::vector<std::string>{"device"});
    // The intruder's new certificate stays pending, attached to nothing (it expires with its token).
    EXPECT_EQ(after.certificates.at(intruder_cert).status, CertStatus::PendingActivation);
    EXPECT_TRUE(after.certificates.at(intruder_cert).things.empty());
    EXPECT_TRUE(after.certificates.at(intruder_cert).policies.empty());
}

TEST_F(ProvisioningHookFlow, LockedThingIsRefusedUntilUnlocked) {
    const auto claim = claim_certificate("AMR-001");
    ASSERT_EQ(provision(claim, R"({"SerialNumber": "AMR-001"})").topic,
              std::string(kRegisterAmr) + "/accepted");
    registry_->set_thing_attribute("AMR-001", "locked", "true");

    std::string refused_cert;
    expect_refused(provision(claim, R"({"SerialNumber": "AMR-001"})", &refused_cert), "thing_locked",
                   "thing AMR-001 is locked");
    EXPECT_EQ(registry_->certificate(refused_cert)->status, CertStatus::PendingActivation);
    EXPECT_EQ(registry_->thing("AMR-001")->attributes.at("locked"), "true");

    registry_->set_thing_attribute("AMR-001", "locked", "false");
    std::string recovered;
    EXPECT_EQ(provision(claim, R"({"SerialNumber": "AMR-001"})", &recovered).topic,
              std::string(kRegisterAmr) + "/accepted");
    EXPECT_EQ(registry_->certificate(recovered)->status, CertStatus::Active);
}

TEST_F(ProvisioningHookFlow, FleetWideClaimOnTheAllowListMayRegisterAnySerial) {
    const auto fleet = claim_certificate("localcore-claim");
    // Not on the list: its common name is no serial.
    expect_refused(provision(fleet, R"({"SerialNumber": "AMR-007"})"), "serial_mismatch",
                   "bound to localcore-claim, not AMR-007");

    localcore::write_file_atomic(
        options_.templates_dir / "amr-hook.json",
        R"({"rules": "device-bound-claim", "fleetWideClaimCertificateIds": [")" + fleet + R"("]})");
    for (const char* serial : {"AMR-007", "AMR-008"}) {
        const Reply r = provision(fleet, std::string(R"({"SerialNumber": ")") + serial + "\"}");
        EXPECT_EQ(r.topic, std::string(kRegisterAmr) + "/accepted") << serial;
        EXPECT_EQ(r.str("thingName"), serial);
    }
}

TEST_F(ProvisioningHookFlow, TheRepositoryHookRefusesANameOutsideThePrefix) {
    // amr-hook.json has thingNamePrefix AMR- (as cloud/params/example.json): a device whose claim
    // certificate names ROBOT-7 cannot create thing ROBOT-7, which the console's role would not cover.
    std::string refused_cert;
    expect_refused(provision(claim_certificate("ROBOT-7"), R"({"SerialNumber": "ROBOT-7"})", &refused_cert),
                   "name_outside_prefix", "thing name ROBOT-7 does not start with the required prefix AMR-");
    EXPECT_FALSE(registry_->thing("ROBOT-7").has_value());
    EXPECT_EQ(registry_->certificate(refused_cert)->status, CertStatus::PendingActivation);

    // A fleet-wide claim certificate is held to the prefix too.
    const auto fleet = claim_certificate("localcore-claim");
    localcore::write_file_atomic(options_.templates_dir / "amr-hook.json",
                                 R"({"rules": "device-bound-claim", "thingNamePrefix": "AMR-", )"
                                 R"("fleetWideClaimCertificateIds": [")" +
                                     fleet + R"("]})");
    expect_refused(provision(fleet, R"({"SerialNumber": "ROBOT-8"})"), "name_outside_prefix",
                   "ROBOT-8 does not start with the required prefix AMR-");
    EXPECT_EQ(provision(fleet, R"({"SerialNumber": "AMR-008"})").topic,
              std::string(kRegisterAmr) + "/accepted");

    // Without thingNamePrefix there is no prefix rule.
    localcore::write_file_atomic(options_.templates_dir / "amr-hook.json",
                                 R"({"rules": "device-bound-claim"})");
    EXPECT_EQ(provision(claim_certificate("ROBOT-9"), R"({"SerialNumber": "ROBOT-9"})").topic,
              std::string(kRegisterAmr) + "/accepted");
}

TEST_F(ProvisioningHookFlow, ConnectionWithoutAClaimCertificateIsNotDeviceBound) {
    expect_refused(provision("", R"({"SerialNumber": "AMR-001"})"), "claim_not_device_bound",
                   "names no device");
}

TEST_F(ProvisioningHookFlow, HookJudgesParametersBeforeTheTemplate) {
    const auto claim = claim_certificate("AMR-001");
    expect_refused(provision(claim, R"({"SerialNumber": 1})"), "invalid_parameters", "not a string");
    expect_refused(provision(claim, R"({"SerialNumber": "AMR-001", "PolicyName": "admin"})"),
                   "invalid_parameters", "'PolicyName' is not accepted");
    EXPECT_FALSE(registry_->thing("AMR-001").has_value());
}

TEST_F(ProvisioningHookFlow, InvalidHookFileIsAnInternalFailureNotAnOpenDoor) {
    localcore::write_file_atomic(options_.templates_dir / "amr-hook.json", R"({"rules": "allow-all"})");
    const Reply r = provision(claim_certificate("AMR-001"), R"({"SerialNumber": "AMR-001"})");
    EXPECT_EQ(r.topic, std::string(kRegisterAmr) + "/rejected");
    EXPECT_EQ(r.status(), 500);
    EXPECT_EQ(r.str("errorCode"), "InternalFailure");
    EXPECT_THAT(r.str("errorMessage"), HasSubstr("amr-hook.json"));
    EXPECT_FALSE(registry_->thing("AMR-001").has_value());
}

}  // namespace
}  // namespace localcore::test
