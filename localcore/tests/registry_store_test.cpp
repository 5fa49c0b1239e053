// Registry persistence, storage safety, status rules and attachments.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "atomic_file.hpp"
#include "ca.hpp"
#include "registry.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;
using iotgw::test::TempDir;
using localcore::CertStatus;
using localcore::Error;
using localcore::Registry;
using ::testing::HasSubstr;

// One CA for the whole suite: key generation is the slow part.
class RegistryStore : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        ca_dir_ = new TempDir;
        localcore::Ca::init(ca_dir_->path() / "ca");
    }
    static void TearDownTestSuite() {
        delete ca_dir_;
        ca_dir_ = nullptr;
    }
    static std::string new_cert_pem(const std::string& cn) {
        return localcore::Ca::open(ca_dir_->path() / "ca").issue(cn, std::chrono::hours(1)).cert_pem;
    }
    void expect_error(const std::function<void()>& f, const std::string& text) {
        try {
            f();
            ADD_FAILURE() << "expected an error containing: " << text;
        } catch (const Error& e) {
            EXPECT_THAT(e.what(), HasSubstr(text));
        }
    }

    TempDir dir_;
    static TempDir* ca_dir_;
};
TempDir* RegistryStore::ca_dir_ = nullptr;

constexpr const char* kPolicy = R"({"Version":"2012-10-17","Statement":[]})";

TEST_F(RegistryStore, MissingFileIsAnEmptyRegistry) {
    auto r = Registry::open(dir_.path());
    EXPECT_TRUE(r.things().empty());
    EXPECT_TRUE(r.certificates().empty());
    EXPECT_TRUE(r.policies().empty());
}

TEST_F(RegistryStore, OpenRefusesAMissingDirectory) {
    expect_error([&] { Registry::open(dir_.path() / "nope"); }, "does not exist");
}

TEST_F(RegistryStore, EverythingSurvivesReopen) {
    std::string id;
    {
        auto r = Registry::open(dir_.path());
        r.create_thing("AMR-001", {{"model", "x1"}});
        r.put_policy("device", kPolicy);
        id = r.add_certificate(new_cert_pem("AMR-001"), CertStatus::Active, {"AMR-001"}, {"device"});
    }
    auto r = Registry::open(dir_.path());
    ASSERT_TRUE(r.thing("AMR-001"));
    EXPECT_EQ(r.thing("AMR-001")->attributes.at("model"), "x1");
    ASSERT_TRUE(r.policy("device"));
    EXPECT_EQ(r.policy("device")->document, kPolicy);
    auto c = r.certificate(id);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->status, CertStatus::Active);
    EXPECT_EQ(c->subject_cn, "AMR-001");
    EXPECT_THAT(c->things, ::testing::ElementsAre("AMR-001"));
    EXPECT_THAT(c->policies, ::testing::ElementsAre("device"));
    EXPECT_GT(c->not_after, c->created);
    EXPECT_THAT(c->pem, HasSubstr("BEGIN CERTIFICATE"));
}

TEST_F(RegistryStore, WritesLeaveNoTempFilesAndAPrivateFile) {
    auto r = Registry::open(dir_.path());
    for (int i = 0; i < 5; ++i) r.create_thing("t" + std::to_string(i));
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_.path())) names.push_back(e.path().filename().string());
    EXPECT_THAT(names, ::testing::UnorderedElementsAre("registry.json", "registry.lock"));
    EXPECT_EQ(fs::status(r.file()).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(RegistryStore, CorruptFileIsRefusedWithItsName) {
    std::ofstream(dir_.path() / "registry.json") << "{\"format_version\":1,\"things\":";
    try {
        Registry::open(dir_.path());
        FAIL() << "a corrupt registry was accepted";
    } catch (const Error& e) {
        EXPECT_THAT(e.what(), HasSubstr((dir_.path() / "registry.json").string()));
        EXPECT_THAT(e.what(), HasSubstr("corrupt"));
    }
    std::ofstream(dir_.path() / "registry.json", std::ios::trunc) << R"({"format_version":1,"things":[]})";
    expect_error([&] { Registry::open(dir_.path()); }, "things is not an object");
}

TEST_F(RegistryStore, ThingNamesFollowTheAwsRule) {
    auto r = Registry::open(dir_.path());
    r.create_thing("AMR_001:a-b");
    r.create_thing(std::string(128, 'x'));
    expect_error([&] { r.create_thing(std::string(129, 'x')); }, "invalid thing name");
    expect_error([&] { r.create_thing(""); }, "invalid thing name");
    expect_error([&] { r.create_thing("amr/001"); }, "a-z A-Z 0-9 : _ -");
    expect_error([&] { r.create_thing("AMR_001:a-b"); }, "already exists");
}

TEST_F(RegistryStore, StatusRules) {
    auto r = Registry::open(dir_.path());
    const auto id = r.add_certificate(new_cert_pem("s"), CertStatus::PendingActivation);
    EXPECT_EQ(r.certificate(id)->status, CertStatus::PendingActivation);
    expect_error([&] { r.set_status(id, CertStatus::PendingActivation); }, "cannot be set");
    r.set_status(id, CertStatus::Active);
    r.set_status(id, CertStatus::Inactive);
    EXPECT_EQ(r.certificate(id)->status, CertStatus::Inactive);
    r.set_status(id, CertStatus::Revoked);
    expect_error([&] { r.set_status(id, CertStatus::Active); }, "revocation is permanent");
    expect_error([&] { r.set_status(id, CertStatus::Inactive); }, "revocation is permanent");
    EXPECT_EQ(r.certificate(id)->status, CertStatus::Revoked);
    expect_error([&] { localcore::parse_cert_status("active"); },
                 "unknown certificate status 'active'; use ACTIVE, INACTIVE, REVOKED or PENDING_ACTIVATION");
    EXPECT_EQ(localcore::parse_cert_status("REVOKED"), CertStatus::Revoked);
}

TEST_F(RegistryStore, AttachmentsNeedExistingThingsAndPolicies) {
    auto r = Registry::open(dir_.path());
    const auto id = r.add_certificate(new_cert_pem("a"), CertStatus::Active);
    expect_error([&] { r.attach_thing(id, "AMR-009"); }, "thing 'AMR-009' does not exist");
    expect_error([&] { r.attach_policy(id, "device"); }, "policy 'device' does not exist");
    expect_error([&] { r.add_certificate(new_cert_pem("b"), CertStatus::Active, {"nope"}); },
                 "does not exist");
    EXPECT_EQ(r.certificates().size(), 1u);  // the failed add wrote nothing
    r.create_thing("AMR-001");
    r.create_thing("AMR-002");
    r.put_policy("device", kPolicy);
    r.attach_thing(id, "AMR-002");
    r.attach_thing(id, "AMR-001");
    r.attach_thing(id, "AMR-001");
    r.attach_policy(id, "device");
    EXPECT_THAT(r.certificate(id)->things, ::testing::ElementsAre("AMR-001", "AMR-002"));
    r.detach_thing(id, "AMR-002");
    r.detach_policy(id, "device");
    EXPECT_THAT(r.certificate(id)->things, ::testing::ElementsAre("AMR-001"));
    EXPECT_TRUE(r.certificate(id)->policies.empty());
    expect_error([&] { r.put_policy("bad", "[1,2]"); }, "is not a JSON object");
    expect_error([&] { r.put_policy("bad name", kPolicy); }, "invalid policy name");
}

TEST_F(RegistryStore, LookupByFingerprintAndPrefix) {
    auto r = Registry::open(dir_.path());
    const auto pem = new_cert_pem("f");
    const auto id = r.add_certificate(pem, CertStatus::Active);
    EXPECT_EQ(id, localcore::inspect_certificate_pem(pem).fingerprint);
    EXPECT_EQ(id.size(), 64u);
    auto found = r.find_certificate_by_der_fingerprint(id);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->pem, pem);
    EXPECT_FALSE(r.find_certificate_by_der_fingerprint(std::string(64, '0')));
    EXPECT_EQ(r.resolve_certificate_id(id.substr(0, 8)), id);
    expect_error([&] { r.resolve_certificate_id(id.substr(0, 7)); }, "at least 8 hex characters");
    expect_error([&] { r.resolve_certificate_id("zzzzzzzz"); }, "at least 8 hex characters");
    expect_error([&] { r.resolve_certificate_id(id[0] == '0' ? "11111111" : "00000000"); },
                 "no certificate id starts with");
    expect_error([&] { r.add_certificate(pem, CertStatus::Active); }, "already registered");
    expect_error([&] { r.add_certificate("not a pem", CertStatus::Active); }, "not a valid PEM");
}

TEST_F(RegistryStore, ConcurrentWritersLoseNoUpdates) {
    constexpr int kPerWriter = 15;
    auto writer = [&](const std::string& prefix) {
        auto r = Registry::open(dir_.path());
        for (int i = 0; i < kPerWriter; ++i) r.create_thing(prefix + std::to_string(i));
    };
    std::thread a(writer, "a"), b(writer, "b");
    a.join();
    b.join();
    EXPECT_EQ(Registry::open(dir_.path()).things().size(), 2u * kPerWriter);
}

}  // namespace
