// The broker plugin's in-memory registry (registry_index.hpp): CONNECT authentication is a lookup,
// the file is parsed again only when it changes, and a change made by the CLI (another Registry
// writing the same directory) is seen by the next CONNECT.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "atomic_file.hpp"
#include "registry.hpp"
#include "registry_fleet.hpp"
#include "registry_index.hpp"
#include "test_support.hpp"

namespace {

using iotgw::test::TempDir;
using localcore::Action;
using localcore::authenticate_certificate;
using localcore::CertStatus;
using localcore::Error;
using localcore::Registry;
using localcore::RegistryIndex;
using localcore::RequestContext;
using localcore::test::fleet_certificate_id;
using localcore::test::fleet_registry;
using localcore::test::fleet_thing;
using ::testing::HasSubstr;

class RegistryIndexTest : public ::testing::Test {
protected:
    void write_fleet(std::size_t things) {
        localcore::write_file_atomic(dir_.path() / "registry.json",
                                     localcore::registry_to_json(fleet_registry(things)), 0600);
    }
    // What the plugin's basic-auth handler does at each CONNECT.
    localcore::CertificateAuthentication connect(RegistryIndex& index, std::size_t i) {
        index.refresh();
        return authenticate_certificate(index, fleet_certificate_id(i), fleet_thing(i));
    }
    TempDir dir_;
};

TEST_F(RegistryIndexTest, ACliWriteBetweenTwoConnectsIsSeenByTheSecond) {
    write_fleet(3);
    RegistryIndex index(dir_.path() / "registry.json");
    auto first = connect(index, 1);
    ASSERT_NE(first.certificate, nullptr) << first.refusal;
    EXPECT_TRUE(first.thing_attached);
    ASSERT_EQ(first.policies.policies().size(), 1u);

    // `localcore set-status ... INACTIVE`: another process's Registry, the locked read-modify-write.
    Registry::open(dir_.path()).set_status(fleet_certificate_id(1), CertStatus::Inactive);
    auto second = connect(index, 1);
    EXPECT_EQ(second.certificate, nullptr);
    EXPECT_THAT(second.refusal, HasSubstr("is INACTIVE, only ACTIVE certificates connect"));

    // A policy attached by the CLI is compiled and applies from the next CONNECT on.
    auto cli = Registry::open(dir_.path());
    cli.put_policy("extra", R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
        "Action":"iot:Publish","Resource":"arn:aws:iot:*:*:topic/extra/only"}]})");
    cli.attach_policy(fleet_certificate_id(2), "extra");
    auto third = connect(index, 2);
    ASSERT_NE(third.certificate, nullptr) << third.refusal;
    ASSERT_EQ(third.policies.policies().size(), 2u);
    RequestContext context;
    context.client_id = fleet_thing(2);
    EXPECT_TRUE(third.policies.evaluate(Action::publish, "extra/only", context).allowed);
    // The first read, then once per CONNECT that found the file changed (two CLI writes before
    // the third CONNECT make one parse).
    EXPECT_EQ(index.parse_count(), 3u);
}

TEST_F(RegistryIndexTest, TenThousandThingsAreParsedOnceForAThousandConnects) {
    write_fleet(10'000);
    RegistryIndex index(dir_.path() / "registry.json");
    for (std::size_t i = 0; i < 1'000; ++i) {
        const auto result = connect(index, i * 10);
        ASSERT_NE(result.certificate, nullptr) << i << ": " << result.refusal;
        EXPECT_EQ(result.certificate->id, fleet_certificate_id(i * 10));
    }
    EXPECT_EQ(index.parse_count(), 1u);
    EXPECT_EQ(index.generation(), 1u);
    EXPECT_EQ(index.data().things.size(), 10'000u);

    // The plugin's own write (rotation, provisioning) goes through the same locked update and is
    // picked up by the next refresh like any other change.
    Registry::open(dir_.path()).update([](localcore::RegistryData& data) { data.things.erase(fleet_thing(0)); });
    EXPECT_TRUE(index.refresh());
    EXPECT_FALSE(index.refresh());
    EXPECT_EQ(index.parse_count(), 2u);
    EXPECT_EQ(index.data().things.size(), 9'999u);
}

TEST_F(RegistryIndexTest, AnUnregisteredCertificateIsRefusedWithItsId) {
    write_fleet(2);
    RegistryIndex index(dir_.path() / "registry.json");
    index.refresh();
    const std::string unknown(64, 'e');
    const auto result = authenticate_certificate(index, unknown, "AMR-00000");
    EXPECT_EQ(result.certificate, nullptr);
    EXPECT_THAT(result.refusal, HasSubstr("certificate " + unknown + " is not registered"));
}

TEST_F(RegistryIndexTest, AMissingFileIsAnEmptyRegistryUntilItAppears) {
    RegistryIndex index(dir_.path() / "registry.json");
    EXPECT_TRUE(index.refresh());
    EXPECT_FALSE(index.refresh());
    EXPECT_EQ(connect(index, 0).certificate, nullptr);
    write_fleet(1);
    EXPECT_NE(connect(index, 0).certificate, nullptr);
}

TEST_F(RegistryIndexTest, ABrokenPolicyGrantsNothingAndIsReportedOncePerChange) {
    auto data = fleet_registry(1);
    data.policies["device"].document = R"({"Version":"2012-10-17","Statement":[{"Effect":"Maybe"}]})";
    localcore::write_file_atomic(dir_.path() / "registry.json", localcore::registry_to_json(data), 0600);
    RegistryIndex index(dir_.path() / "registry.json");
    const auto result = connect(index, 0);
    ASSERT_NE(result.certificate, nullptr);
    EXPECT_TRUE(result.policies.policies().empty());
    ASSERT_EQ(index.policy_errors().size(), 1u);
    EXPECT_THAT(index.policy_errors()[0], HasSubstr("policy 'device'"));
    EXPECT_EQ(index.policy("device"), nullptr);
}

TEST_F(RegistryIndexTest, ACorruptFileIsRefusedWithItsNameAndNotReparsedUntilItChanges) {
    write_fleet(2);
    RegistryIndex index(dir_.path() / "registry.json");
    ASSERT_NE(connect(index, 0).certificate, nullptr);
    localcore::write_file_atomic(dir_.path() / "registry.json", "{ not json", 0600);
    for (int i = 0; i < 3; ++i) {
        try {
            index.refresh();
            ADD_FAILURE() << "a corrupt registry was accepted";
        } catch (const Error& e) {
            EXPECT_THAT(e.what(), HasSubstr((dir_.path() / "registry.json").string()));
            EXPECT_THAT(e.what(), HasSubstr("is corrupt"));
        }
    }
    EXPECT_EQ(index.parse_count(), 2u);
    // Nothing of the old content authenticates meanwhile.
    EXPECT_EQ(authenticate_certificate(index, fleet_certificate_id(0), fleet_thing(0)).certificate, nullptr);
    write_fleet(2);
    EXPECT_NE(connect(index, 0).certificate, nullptr);
}

}  // namespace
