// When fleet_provisioning replaces a production certificate through the claim certificate
// ("recovery"): only when the production connection's link event says the broker refused the
// identity `recover_after` times in a row (`refusals`), never for failures that only say the
// endpoint was unreachable, slow or throttling (`failures` counts those too) — a network outage
// or a reconnect storm must not make a whole fleet re-provision. A recovery waits a random delay
// within `recover_spread` first, and is abandoned if the connection comes back meanwhile.
//
// The real plugin runs in a gateway on the test's thread, fed link events by the stand-in
// connection `test_link`. No socket is opened: the claim certificate is expired, so a recovery
// that starts ends at once with "the claim credentials cannot be used" (what is checked here is
// whether and when it starts). Certificates are made in-process with OpenSSL.
#include "doubles_gateway_test.hpp"
#include "test_support.hpp"

#include <iotgw/plugins/common/certificate_info.hpp>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

namespace iotgw::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A P-256 key and a self-signed certificate with subject CN `cn`, valid from now + `from_s` to
// now + `until_s` seconds; the key file gets mode 0600 (the `file` provider insists).
void write_identity(const fs::path& cert, const fs::path& key, const std::string& cn, long from_s,
                    long until_s) {
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(
        EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), &EVP_PKEY_free);
    ASSERT_TRUE(pkey);
    std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), &X509_free);
    ASSERT_TRUE(x);
    X509_set_version(x.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(x.get()), from_s);
    X509_gmtime_adj(X509_getm_notAfter(x.get()), until_s);
    X509_NAME* name = X509_get_subject_name(x.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()),
                               -1, -1, 0);
    X509_set_issuer_name(x.get(), name);
    X509_set_pubkey(x.get(), pkey.get());
    ASSERT_GT(X509_sign(x.get(), pkey.get(), EVP_sha256()), 0);
    FILE* f = std::fopen(cert.c_str(), "w");
    ASSERT_NE(f, nullptr);
    PEM_write_X509(f, x.get());
    std::fclose(f);
    f = std::fopen(key.c_str(), "w");
    ASSERT_NE(f, nullptr);
    PEM_write_PrivateKey(f, pkey.get(), nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
    fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write);
}

class RecoveryTrigger : public DoublesGatewayTest {
protected:
    void SetUp() override {
        write_identity(dir.path() / "cert.pem", dir.path() / "key.pem", "AMR-001", -3600, 365L * 86400);
        // The claim certificate expired: a recovery that starts fails at once, before any connect.
        write_identity(dir.path() / "claim.pem", dir.path() / "claim.key", "AMR-001", -7200, -3600);
        std::ofstream(dir.path() / "synchronized").put('\n');  // the clock counts as synchronised
        cert_id = plugins::common::read_certificate_info((dir.path() / "cert.pem").string()).value().id;
    }

    std::string config(const std::string& provisioning_extra) const {
        const auto q = [](const fs::path& p) { return "\"" + p.string() + "\""; };
        return ConfigText()
            .credentials("prod", "file",
                         "cert = " + q(dir.path() / "cert.pem") + "\nkey = " + q(dir.path() / "key.pem"))
            .credentials("claim", "file",
                         "cert = " + q(dir.path() / "claim.pem") + "\nkey = " + q(dir.path() / "claim.key") +
                             "\nawait_provisioning = true")
            .connection("cloud", "test_link")
            .source("provisioning", "fleet_provisioning",
                    "credentials = \"prod\"\nclaim_credentials = \"claim\"\nconnection = \"cloud\"\n"
                    "endpoint = \"127.0.0.1\"\njitter = \"0s\"\nclock_wait = \"0s\"\n"
                    "clock_sync_file = " +
                        q(dir.path() / "synchronized") + "\n" + provisioning_extra)
            .pipeline("rotation-report", "provisioning", {"cloud:amr/${thing}/certificate/rotated"})
            .text();
    }

    // A failed attempt as plugins/mqtt reports it (link_event.hpp).
    std::string failed(int failures, int refusals, const std::string& kind) const {
        return R"({"connected":false,"reason":"test","failures":)" + std::to_string(failures) +
               R"(,"refusals":)" + std::to_string(refusals) + R"(,"last_failure":")" + kind +
               R"(","certificate_id":")" + cert_id + R"("})";
    }

    bool recovery_started() { return h.log().contains("recovery started"); }

    TempDir dir;
    std::string cert_id;
};

TEST_F(RecoveryTrigger, NetworkFailuresAndThrottlingDoNotStartARecoveryHoweverManyInARow) {
    ASSERT_EQ(h.start(config("recover_after = 3")), "") << h.log().joined();
    h.run_for(100ms);
    // An endpoint outage: TCP refused, DNS failures, timeouts; then a throttled reconnect storm.
    for (int n = 1; n <= 6; ++n) ASSERT_TRUE(doubles::link_event("cloud", failed(n, 0, "network")));
    for (int n = 7; n <= 9; ++n) ASSERT_TRUE(doubles::link_event("cloud", failed(n, 0, "timeout")));
    for (int n = 10; n <= 14; ++n) ASSERT_TRUE(doubles::link_event("cloud", failed(n, 0, "throttled")));
    EXPECT_FALSE(recovery_started()) << h.log().joined();
    h.run_for(300ms);
    EXPECT_FALSE(recovery_started()) << h.log().joined();
    // Not even scheduled (the default spread would hide a recovery that is merely waiting).
    EXPECT_FALSE(h.log().contains("times in a row: recovery through the claim certificate in"))
        << h.log().joined();
    EXPECT_EQ(counter_value("provisioning.attempts"), 0u);
}

TEST_F(RecoveryTrigger, RefusalsOfTheIdentityStartARecoveryAfterTheSpread) {
    ASSERT_EQ(h.start(config("recover_after = 3\nrecover_spread = \"1s\"")), "") << h.log().joined();
    h.run_for(100ms);
    ASSERT_TRUE(doubles::link_event("cloud", failed(1, 0, "network")));
    ASSERT_TRUE(doubles::link_event("cloud", failed(2, 1, "not_authorized")));
    ASSERT_TRUE(doubles::link_event("cloud", failed(3, 2, "not_authorized")));
    EXPECT_FALSE(recovery_started()) << "two refusals are below recover_after = 3\n" << h.log().joined();
    ASSERT_TRUE(doubles::link_event("cloud", failed(4, 3, "not_authorized")));
    // Not at once: a fleet refused in the same second must not call the provisioning API together.
    EXPECT_FALSE(recovery_started()) << h.log().joined();
    EXPECT_TRUE(h.log().contains("refused the certificate 3 times in a row")) << h.log().joined();
    ASSERT_TRUE(h.run_until_logged("recovery started", 10s)) << h.log().joined();
    EXPECT_TRUE(
        h.log().contains("failed to connect 3 times in a row with certificate " + cert_id.substr(0, 12)))
        << h.log().joined();
    EXPECT_EQ(counter_value("provisioning.attempts"), 1u);
}

TEST_F(RecoveryTrigger, ARecoveryWaitingForItsSpreadIsAbandonedWhenTheConnectionComesBack) {
    ASSERT_EQ(h.start(config("recover_after = 3\nrecover_spread = \"300ms\"")), "") << h.log().joined();
    h.run_for(100ms);
    for (int n = 1; n <= 3; ++n)
        ASSERT_TRUE(doubles::link_event("cloud", failed(n, n, "closed_before_connack")));
    ASSERT_TRUE(doubles::link_state("cloud", true));  // before the loop ran again: within the spread
    h.run_for(800ms);
    EXPECT_FALSE(recovery_started()) << h.log().joined();
    EXPECT_TRUE(h.log().contains("recovery through the claim certificate is not needed")) << h.log().joined();
    EXPECT_EQ(counter_value("provisioning.attempts"), 0u);
}

TEST_F(RecoveryTrigger, ASpreadOverADayIsRefusedByTheCheck) {
    const std::string errors = h.load(config("recover_after = 3\nrecover_spread = \"2d\""));
    EXPECT_NE(errors.find("key 'recover_spread' of [sources.provisioning]: 2d is above the maximum 1d"),
              std::string::npos)
        << errors;
}

TEST_F(RecoveryTrigger, RecoverAfterZeroNeverRecovers) {
    ASSERT_EQ(h.start(config("recover_after = 0\nrecover_spread = \"0s\"")), "") << h.log().joined();
    h.run_for(100ms);
    for (int n = 1; n <= 5; ++n) ASSERT_TRUE(doubles::link_event("cloud", failed(n, n, "not_authorized")));
    h.run_for(300ms);
    EXPECT_FALSE(recovery_started()) << h.log().joined();
}

}  // namespace
}  // namespace iotgw::test
