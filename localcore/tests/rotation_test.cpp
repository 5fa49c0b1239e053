// The backend step of certificate rotation: who may retire which certificate, and what changes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <optional>

#include <rapidjson/document.h>

#include "atomic_file.hpp"
#include "ca.hpp"
#include "registry.hpp"
#include "rotation.hpp"
#include "service_reply.hpp"
#include "test_support.hpp"

// Inside localcore, in the namespace of the shared test helpers (service_reply.hpp): the services
// and helpers need no using.
namespace localcore::test {
namespace {

namespace fs = std::filesystem;
using iotgw::test::TempDir;
using ::testing::HasSubstr;

constexpr const char* kTopic = "amr/AMR-001/certificate/rotated";

class Rotation : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        ca_dir_ = new TempDir;
        Ca::init(ca_dir_->path() / "ca");
        auto ca = Ca::open(ca_dir_->path() / "ca");
        for (auto* pem : {&pem_old_, &pem_new_, &pem_other_})
            *pem = ca.issue("AMR-001", std::chrono::hours(1)).cert_pem;
    }
    static void TearDownTestSuite() {
        delete ca_dir_;
        ca_dir_ = nullptr;
    }

    void SetUp() override {
        registry_.emplace(Registry::open(dir_.path()));
        registry_->put_policy("device", localcore::read_file(fs::path(LOCALCORE_POLICY_DIR) / "device.json"));
        registry_->create_thing("AMR-001");
        registry_->create_thing("AMR-002");
        old_ = registry_->add_certificate(pem_old_, CertStatus::Active, {"AMR-001"}, {"device"});
        new_ = registry_->add_certificate(pem_new_, CertStatus::Active, {"AMR-001"}, {"device"});
        other_ = registry_->add_certificate(pem_other_, CertStatus::Active, {"AMR-002"}, {"device"});
    }

    RequesterContext device(const std::string& cert, std::optional<std::string> thing = "AMR-001") const {
        return RequesterContext{thing.value_or("someone"), cert, thing};
    }

    Reply call(const std::string& payload, const RequesterContext& who, const std::string& topic = kTopic) {
        CertificateRotation rotation(*registry_);
        Reply r = only_reply(rotation.handle(topic, payload, who, 1000), topic);
        EXPECT_TRUE(r.doc().IsObject()) << r.payload;
        return r;
    }

    std::string request(const std::string& old_id, const std::string& client_token = "") const {
        return R"({"oldCertificateId": ")" + old_id + "\"" +
               (client_token.empty() ? "" : R"(, "clientToken": ")" + client_token + "\"") + "}";
    }

    void expect_rejected(const Reply& r, int code, const std::string& message_part,
                         const std::string& topic = kTopic) {
        EXPECT_EQ(r.topic, topic + std::string("/rejected"));
        EXPECT_TRUE(r.only_to_requester);
        EXPECT_EQ(r.number("code"), code);
        EXPECT_THAT(r.str("message"), HasSubstr(message_part));
    }

    std::string registry_text() const { return localcore::read_file(registry_->file()); }

    TempDir dir_;
    std::optional<Registry> registry_;
    std::string old_, new_, other_;
    static TempDir* ca_dir_;
    static std::string pem_old_, pem_new_, pem_other_;
};
TempDir* Rotation::ca_dir_ = nullptr;
std::string Rotation::pem_old_, Rotation::pem_new_, Rotation::pem_other_;

TEST_F(Rotation, RequestTopics) {
    EXPECT_TRUE(CertificateRotation::is_request_topic("amr/AMR-001/certificate/rotated"));
    EXPECT_FALSE(CertificateRotation::is_request_topic("amr/AMR-001/certificate/rotated/accepted"));
    EXPECT_FALSE(CertificateRotation::is_request_topic("amr/AMR-001/certificate/rotated/rejected"));
    EXPECT_FALSE(CertificateRotation::is_request_topic("amr//certificate/rotated"));
    EXPECT_FALSE(CertificateRotation::is_request_topic("amr/a/b/certificate/rotated"));
    EXPECT_FALSE(CertificateRotation::is_request_topic("amr/AMR-001/certificate"));
    EXPECT_FALSE(CertificateRotation::is_request_topic("xamr/AMR-001/certificate/rotated"));
    CertificateRotation rotation(*registry_);
    EXPECT_TRUE(rotation.handle("amr/AMR-001/status", "{}", device(new_), 0).empty());
}

TEST_F(Rotation, RetiresTheOldCertificate) {
    auto r = call(request(old_, "tok-1"), device(new_));
    EXPECT_EQ(r.topic, std::string(kTopic) + "/accepted");
    EXPECT_TRUE(r.only_to_requester);
    EXPECT_EQ(r.str("oldCertificateId"), old_);
    EXPECT_EQ(r.str("newCertificateId"), new_);
    EXPECT_EQ(r.str("status"), "INACTIVE");
    EXPECT_EQ(r.str("clientToken"), "tok-1");

    auto old_cert = registry_->certificate(old_);
    EXPECT_EQ(old_cert->status, CertStatus::Inactive);
    EXPECT_TRUE(old_cert->things.empty());
    EXPECT_EQ(old_cert->policies, std::vector<std::string>{"device"});  // policies stay
    auto new_cert = registry_->certificate(new_);
    EXPECT_EQ(new_cert->status, CertStatus::Active);
    EXPECT_EQ(new_cert->things, std::vector<std::string>{"AMR-001"});
    EXPECT_EQ(registry_->certificate(other_)->status, CertStatus::Active);
}

TEST_F(Rotation, ARetryIsAcceptedWithoutAnotherWrite) {
    ASSERT_EQ(call(request(old_), device(new_)).topic, std::string(kTopic) + "/accepted");
    const auto before = registry_text();
    auto r = call(request(old_, "again"), device(new_));
    EXPECT_EQ(r.topic, std::string(kTopic) + "/accepted");
    EXPECT_EQ(r.str("status"), "INACTIVE");
    EXPECT_EQ(r.str("clientToken"), "again");
    EXPECT_EQ(registry_text(), before);
}

TEST_F(Rotation, AnOldCertificateAlreadyInactiveButAttachedIsDetached) {
    registry_->set_status(old_, CertStatus::Inactive);
    EXPECT_EQ(call(request(old_), device(new_)).topic, std::string(kTopic) + "/accepted");
    EXPECT_TRUE(registry_->certificate(old_)->things.empty());
}

TEST_F(Rotation, UppercaseIdsAreAccepted) {
    std::string upper = old_;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    auto r = call(request(upper), device(new_));
    EXPECT_EQ(r.topic, std::string(kTopic) + "/accepted");
    EXPECT_EQ(r.str("oldCertificateId"), old_);
    EXPECT_EQ(registry_->certificate(old_)->status, CertStatus::Inactive);
}

TEST_F(Rotation, TheConnectionCertificateMustBeActive) {
    registry_->set_status(new_, CertStatus::Inactive);
    const auto before = registry_text();
    expect_rejected(call(request(old_), device(new_)), 403, "not ACTIVE");
    expect_rejected(call(request(old_), device(std::string(64, 'f'))), 403, "not ACTIVE");  // unknown cert
    EXPECT_EQ(registry_text(), before);
}

TEST_F(Rotation, OnlyTheConnectionsOwnThing) {
    const auto before = registry_text();
    expect_rejected(call(request(old_), device(new_, "AMR-002")), 403, "this connection is thing 'AMR-002'");
    expect_rejected(call(request(old_), device(new_, std::nullopt)), 403, "this connection is not a thing");
    EXPECT_EQ(registry_text(), before);
}

TEST_F(Rotation, TheNewCertificateMustBeAttachedToTheThing) {
    registry_->detach_thing(new_, "AMR-001");
    const auto before = registry_text();
    expect_rejected(call(request(old_), device(new_)), 403, "not attached to thing 'AMR-001'");
    EXPECT_EQ(registry_text(), before);
    EXPECT_EQ(registry_->certificate(old_)->status, CertStatus::Active);
}

TEST_F(Rotation, TheOldCertificateMustBelongToTheThing) {
    expect_rejected(call(request(other_), device(new_)), 403, "is not attached to thing 'AMR-001'");
    registry_->detach_thing(old_, "AMR-001");  // ACTIVE but attached to nothing
    expect_rejected(call(request(old_), device(new_)), 403, "is not attached to thing 'AMR-001'");
    EXPECT_EQ(registry_->certificate(other_)->status, CertStatus::Active);
    EXPECT_EQ(registry_->certificate(old_)->status, CertStatus::Active);
    // Inactive and attached to another thing: not a retry of this thing's rotation.
    registry_->set_status(other_, CertStatus::Inactive);
    expect_rejected(call(request(other_), device(new_)), 403, "is not attached to thing 'AMR-001'");
    EXPECT_EQ(registry_->certificate(other_)->things, std::vector<std::string>{"AMR-002"});
}

// Issue 16, finding 9: "already done" used to answer any INACTIVE certificate attached to no
// thing, so any device could learn that someone else's certificate had been retired.
TEST_F(Rotation, AnotherThingsRetiredCertificateIsNotReportedAsDone) {
    ASSERT_EQ(call(request(old_), device(new_)).topic, std::string(kTopic) + "/accepted");
    const auto before = registry_text();
    const std::string topic = "amr/AMR-002/certificate/rotated";
    auto r = call(request(old_), device(other_, "AMR-002"), topic);
    expect_rejected(r, 403, "is not attached to thing 'AMR-002'", topic);
    EXPECT_EQ(registry_text(), before);
}

// Retired by an operator (set-cert-status, detach), not by this thing's rotation: not a retry.
TEST_F(Rotation, ACertificateRetiredOutsideARotationIsNotReportedAsDone) {
    registry_->set_status(other_, CertStatus::Inactive);
    registry_->detach_thing(other_, "AMR-002");
    expect_rejected(call(request(other_), device(new_)), 403, "is not attached to thing 'AMR-001'");
}

// 200,000 unclosed brackets: RapidJSON's recursive parser overflows the broker's stack long
// before the end, dropping every client; the depth-limited parse stops at level 65.
TEST_F(Rotation, ADeeplyNestedPayloadIsRejectedNotACrash) {
    const auto before = registry_text();
    expect_rejected(call(std::string(200000, '['), device(new_)), 400, "nesting deeper than 64 at offset 64");
    EXPECT_EQ(registry_text(), before);
}

TEST_F(Rotation, OldMustDifferFromNew) {
    const auto before = registry_text();
    expect_rejected(call(request(new_), device(new_)), 400, "the certificate of this connection");
    EXPECT_EQ(registry_text(), before);
}

TEST_F(Rotation, ARevokedOldCertificateIsRefused) {
    registry_->set_status(old_, CertStatus::Revoked);
    const auto before = registry_text();
    expect_rejected(call(request(old_, "t"), device(new_)), 409, "REVOKED");
    EXPECT_EQ(registry_text(), before);
    EXPECT_EQ(registry_->certificate(old_)->status, CertStatus::Revoked);
}

TEST_F(Rotation, AnUnknownOldCertificateIsNotFound) {
    expect_rejected(call(request(std::string(64, 'e')), device(new_)), 404, "does not exist");
}

TEST_F(Rotation, PayloadErrors) {
    const auto before = registry_text();
    expect_rejected(call("not json", device(new_)), 400, "not a JSON object");
    expect_rejected(call("{}", device(new_)), 400, "oldCertificateId is missing");
    expect_rejected(call(R"({"oldCertificateId": 5})", device(new_)), 400, "oldCertificateId is missing");
    expect_rejected(call(request(old_.substr(0, 16)), device(new_)), 400, "64 hex");
    expect_rejected(call(request(std::string(64, 'g')), device(new_)), 400, "64 hex");
    expect_rejected(call(request(old_, std::string(65, 't')), device(new_)), 400, "clientToken");
    auto r = call(R"({"clientToken": "keep-me"})", device(new_));
    expect_rejected(r, 400, "oldCertificateId");
    EXPECT_EQ(r.str("clientToken"), "keep-me");
    EXPECT_EQ(registry_text(), before);
}

TEST_F(Rotation, RejectionsRepeatTheClientToken) {
    auto r = call(request(std::string(64, 'e'), "abc"), device(new_));
    expect_rejected(r, 404, "");
    EXPECT_EQ(r.str("clientToken"), "abc");
    auto plain = call(request(std::string(64, 'e')), device(new_));
    EXPECT_FALSE(plain.has("clientToken"));
}

}  // namespace
}  // namespace localcore::test
