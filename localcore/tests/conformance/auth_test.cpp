// X.509 authentication against the registry (docs/aws-iot-core.md section 1): only ACTIVE registered
// certificates connect, and leaving ACTIVE drops live connections.
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "ca.hpp"
#include "localcore_fixture.hpp"

namespace localcore::conformance {
namespace {

using ConformanceAuth = LocalCoreTest;

// Writes a certificate + key issued by `ca` (not registered anywhere) under `prefix`.
Identity unregistered(const Ca& ca, const std::string& cn, const fs::path& prefix) {
    const IssuedCertificate issued = ca.issue(cn, std::chrono::hours(24));
    Identity id{fs::path(prefix) += ".pem", fs::path(prefix) += ".key", ""};
    std::ofstream(id.cert) << issued.cert_pem;
    std::ofstream(id.key) << issued.key_pem;
    return id;
}

bool refused_with_connack_5(const CommandResult& r) {
    return r.status != 0 && r.output.find("received CONNACK (5)") != std::string::npos;
}

TEST_F(ConformanceAuth, ActiveRegisteredCertificateConnects) {
    auto c = lc->client(lc->amr1, "AMR-001");
    ASSERT_TRUE(c->connect(5s)) << c->last_error() << "\n" << lc->broker_log();
    EXPECT_NO_THROW(c->publish("amr/AMR-001/status", "{}", 1));
    EXPECT_TRUE(c->connected());

    const CommandResult r = lc->pub(lc->amr1, "AMR-001", "amr/AMR-001/status", "{}");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("received CONNACK (0)"), std::string::npos) << r.output;
}

TEST_F(ConformanceAuth, CertificateFromAnotherCaIsRefused) {
    const fs::path other = lc->fresh_path("other-ca");
    Ca::init(other);
    const Identity foreign = unregistered(Ca::open(other), "AMR-001", lc->fresh_path("foreign"));

    const CommandResult r = lc->pub(foreign, "AMR-001", "amr/AMR-001/status", "{}");
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_EQ(r.output.find("received CONNACK (0)"), std::string::npos) << r.output;
    auto c = lc->client(foreign, "AMR-001");
    EXPECT_FALSE(c->connect(2s));
}

// Signed by localcore's own CA, so TLS accepts it: only the registry lookup can refuse it.
TEST_F(ConformanceAuth, UnregisteredCertificateFromTheLocalCaIsRefused) {
    const Identity stray = unregistered(Ca::open(lc->data_dir() / "ca"), "AMR-001", lc->fresh_path("stray"));

    const CommandResult r = lc->pub(stray, "AMR-001", "amr/AMR-001/status", "{}");
    EXPECT_TRUE(refused_with_connack_5(r)) << r.output;
    EXPECT_TRUE(lc->wait_broker_log("is not registered")) << lc->broker_log();
}

TEST_F(ConformanceAuth, InactiveCertificateIsRefused) {
    const Identity inactive = lc->issue_cert("AMR-001", "device", "INACTIVE");
    ASSERT_EQ(lc->cert_status(inactive.cert_id), "INACTIVE");

    const CommandResult r = lc->pub(inactive, "AMR-001", "amr/AMR-001/status", "{}");
    EXPECT_TRUE(refused_with_connack_5(r)) << r.output;
}

TEST_F(ConformanceAuth, RevokedCertificateIsRefused) {
    const Identity revoked = lc->issue_cert("AMR-001");
    ASSERT_EQ(lc->pub(revoked, "AMR-001", "amr/AMR-001/status", "{}").status, 0);
    lc->cli({"set-cert-status", revoked.cert_id, "REVOKED"});

    const CommandResult r = lc->pub(revoked, "AMR-001", "amr/AMR-001/status", "{}");
    EXPECT_TRUE(refused_with_connack_5(r)) << r.output;
}

TEST_F(ConformanceAuth, DeactivationDropsLiveConnectionWithinASecondAndBlocksReconnect) {
    auto c = lc->connect(lc->amr1, "AMR-001");
    ASSERT_TRUE(c);
    lc->cli({"set-cert-status", lc->amr1.cert_id, "INACTIVE"});
    const auto changed = std::chrono::steady_clock::now();

    while (c->connected() && std::chrono::steady_clock::now() - changed < 3s)
        std::this_thread::sleep_for(10ms);
    const auto took =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - changed);
    EXPECT_FALSE(c->connected()) << "still connected 3 s after set-cert-status INACTIVE";
    EXPECT_LE(took.count(), 1200) << "AWS drops it; localcore should within ~1 s";

    auto again = lc->client(lc->amr1, "AMR-001");
    EXPECT_FALSE(again->connect(2s));
    const CommandResult r = lc->pub(lc->amr1, "AMR-001", "amr/AMR-001/status", "{}");
    EXPECT_TRUE(refused_with_connack_5(r)) << r.output;
}

}  // namespace
}  // namespace localcore::conformance
