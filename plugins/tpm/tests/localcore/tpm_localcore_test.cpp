// The tpm credentials plugin in the real `iotgw` binary against localcore, with swtpm: first boot
// creates the production key INSIDE the TPM (the TPM itself reports fixedTPM, fixedParent and
// sensitiveDataOrigin for the loaded key), signs the CSR there, connects over TLS through the tpm2
// provider, and a rotation replaces the key with another TPM key. Also the refusals an operator
// meets: no TPM, a wrong parent handle, a TPM in lockout, and (where the system has one) a
// tpm2-openssl too old for TLS. The gateway runs as a child process: swtpm serves one connection
// at a time, and the tpm2 provider holds its connection until the process ends.
#include "localcore_fixture.hpp"
#include "provisioning_gateway.hpp"
#include "swtpm_fixture.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>

namespace localcore::conformance {
namespace {

namespace swtpm = iotgw::test::tpm;

class TpmLocalCoreTest : public LocalCoreTest {
protected:
    void SetUp() override {
        std::string version;
        // The refusals of a missing TPM, a wrong handle and a lockout come before the provider's
        // version check, so they run on Debian 12 too; what needs the provider does not.
        const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
        const bool needs_provider =
            test.find("Inside") != std::string::npos || test.find("FileKey") != std::string::npos;
        if (auto why = swtpm::tls_unsupported_reason(&version); !why.empty() && needs_provider)
            GTEST_SKIP() << why;
        ASSERT_FALSE(version.empty())
            << "tpm2-openssl is not installed (apt-get install tpm2-openssl; >= 1.2)";
        LocalCoreTest::SetUp();
        try {
            tpm = std::make_unique<swtpm::SwTpm>(lc->scratch() / "swtpm");
        } catch (const std::exception& e) {
            FAIL() << e.what();
        }
        std::tie(prod_dir, sync_flag) = make_gateway_scratch(*lc);
    }

    std::string tpm_section(const std::string& extra = "") const {
        return "[credentials.prod]\n" + prod_credentials(extra);
    }

    // The body of `[credentials.prod]`: the TPM key and the certificate in `prod_dir`.
    std::string prod_credentials(const std::string& extra) const {
        return "type = \"tpm\"\ncert = \"" + (prod_dir / "cert.pem").string() + "\"\nkey = \"" +
               (prod_dir / "key.pem").string() + "\"\nca = \"" + lc->ca().string() + "\"\ntcti = \"" +
               tpm->tcti() + "\"\n" + extra;
    }

    std::string config(const std::string& thing, const std::string& provisioning_extra) const {
        return fleet_config(*lc, thing, prod_dir, sync_flag, provisioning_extra,
                            prod_credentials("await_provisioning = true\n"));
    }

    fs::path write_config(const std::string& toml) {
        const fs::path p = lc->scratch() / ("gateway-" + std::to_string(++runs) + ".toml");
        std::ofstream(p) << toml;
        return p;
    }

    // `iotgw check` on `toml`: its output.
    std::string check(const std::string& toml) {
        const fs::path cfg = write_config(toml);
        CommandResult r = run_program({IOTGW_BINARY, "check", "--config", cfg.string(), "--plugin-dir",
                                       iotgw::test::build_plugin_dir().string()},
                                      lc->scratch() / ("check-" + std::to_string(runs) + ".log"));
        EXPECT_NE(r.status, 0) << r.output;
        return r.output;
    }

    void expect_tpm_key(const fs::path& key) {
        const std::string pem = read_text_file(key);
        EXPECT_NE(pem.find("-----BEGIN TSS2 PRIVATE KEY-----"), std::string::npos) << pem;
        const std::string pub = tpm->read_public(key);
        // tpm2_readpublic prints "attributes:\n  value: fixedtpm|fixedparent|sensitivedataorigin|...".
        EXPECT_NE(pub.find("fixedtpm"), std::string::npos) << pub;
        EXPECT_NE(pub.find("fixedparent"), std::string::npos) << pub;
        EXPECT_NE(pub.find("sensitivedataorigin"), std::string::npos) << pub;
        EXPECT_NE(pub.find("ecc"), std::string::npos) << "an ECC P-256 key: " << pub;
    }

    std::unique_ptr<swtpm::SwTpm> tpm;
    fs::path prod_dir, sync_flag;
    int runs = 0;
};

TEST_F(TpmLocalCoreTest, FirstBootAndRotationWithAKeyInsideTheTpm) {
    const std::string thing = "AMR-301";
    const std::string connected =
        "connected to localhost:" + std::to_string(lc->port()) + " as '" + thing + "'";
    // localcore issues 365-day certificates: due ~15 s after issue, so a rotation follows first boot.
    const fs::path cfg = write_config(config(thing, "rotate_before = \"364d23h59m45s\"\n"));
    fs::path first_key;
    std::string first_id;
    {
        iotgw::test::ChildProcess gw({IOTGW_BINARY, "run", "--config", cfg.string(), "--plugin-dir",
                                      iotgw::test::build_plugin_dir().string()},
                                     lc->scratch() / "gateway.log");
        ASSERT_TRUE(gw.wait_for("provisioning succeeded", std::chrono::seconds(30))) << gw.log();
        ASSERT_TRUE(gw.wait_for(connected, std::chrono::seconds(10))) << gw.log();
        first_id = certificate_id_of(prod_dir / "cert.pem");
        first_key = lc->scratch() / "first-key.pem";
        fs::copy_file(prod_dir / "key.pem", first_key);
        EXPECT_NE(gw.log().find("generated a new key in the TPM under 0x81000001"), std::string::npos)
            << gw.log();
        ASSERT_TRUE(gw.wait_for("rotation succeeded", std::chrono::seconds(60))) << gw.log();
        ASSERT_TRUE(gw.wait_for(connected, std::chrono::seconds(10), 2)) << gw.log();
        gw.signal(SIGTERM);
        EXPECT_EQ(gw.wait_exit(std::chrono::seconds(10)), 0) << gw.log();
    }
    const std::string new_id = certificate_id_of(prod_dir / "cert.pem");
    ASSERT_EQ(first_id.size(), 64u);
    ASSERT_EQ(new_id.size(), 64u);
    EXPECT_NE(new_id, first_id);
    EXPECT_EQ(lc->cert_status(new_id), "ACTIVE");
    EXPECT_EQ(lc->cert_status(first_id), "INACTIVE");
    EXPECT_NE(read_text_file(prod_dir / "key.pem"), read_text_file(first_key))
        << "the rotation made a new TPM key";
    EXPECT_EQ(read_text_file(prod_dir / "key.pem.previous"), read_text_file(first_key));
    // The TPM's own attributes of both keys (the gateway has ended, so the TPM is free).
    expect_tpm_key(prod_dir / "key.pem");
    expect_tpm_key(first_key);
}

TEST_F(TpmLocalCoreTest, NoTpmDeviceIsNamed) {
    std::string cfg = "[gateway]\nthing = \"AMR-302\"\n" + tpm_section("await_provisioning = true\n");
    cfg.replace(cfg.find(tpm->tcti()), tpm->tcti().size(), "device:/dev/iotgw-test-no-tpm");
    const std::string out = check(cfg);
    EXPECT_NE(out.find("no TPM: /dev/iotgw-test-no-tpm does not exist"), std::string::npos) << out;
}

TEST_F(TpmLocalCoreTest, AWrongParentHandleIsNamed) {
    const std::string out = check("[gateway]\nthing = \"AMR-303\"\n" +
                                  tpm_section("await_provisioning = true\nparent = \"0x81000077\"\n"));
    EXPECT_NE(out.find("there is no persistent key at TPM handle 0x81000077"), std::string::npos) << out;
}

TEST_F(TpmLocalCoreTest, ATpmInLockoutIsNamed) {
    // One wrong authorisation is enough once maxTries is 1.
    ASSERT_EQ(tpm->tool("tpm2_dictionarylockout", {"-s", "-n", "1", "-t", "600", "-l", "600"}).status, 0);
    const fs::path d = lc->scratch() / "swtpm";
    ASSERT_EQ(tpm->tool("tpm2_create", {"-C", swtpm::kParent, "-G", "ecc", "-p", "right", "-u",
                                        (d / "da.pub").string(), "-r", (d / "da.priv").string()})
                  .status,
              0);
    ASSERT_EQ(tpm->tool("tpm2_load", {"-C", swtpm::kParent, "-u", (d / "da.pub").string(), "-r",
                                      (d / "da.priv").string(), "-c", (d / "da.ctx").string()})
                  .status,
              0);
    std::ofstream(d / "msg") << "x";
    EXPECT_NE(tpm->tool("tpm2_sign", {"-c", (d / "da.ctx").string(), "-p", "wrong", "-o",
                                      (d / "sig").string(), (d / "msg").string()})
                  .status,
              0);
    tpm->tool("tpm2_flushcontext", {"-t"});
    const std::string out =
        check("[gateway]\nthing = \"AMR-304\"\n" + tpm_section("await_provisioning = true\n"));
    EXPECT_NE(out.find("the TPM is in dictionary-attack lockout"), std::string::npos) << out;
}

TEST_F(TpmLocalCoreTest, AFileKeyIsRefused) {
    fs::copy_file(lc->amr1.cert, prod_dir / "cert.pem");
    fs::copy_file(lc->amr1.key, prod_dir / "key.pem");
    const std::string out = check("[gateway]\nthing = \"AMR-001\"\n" + tpm_section());
    EXPECT_NE(out.find("is a private key in a file, not a TPM key"), std::string::npos) << out;
}

// Where the system's tpm2-openssl is too old for TLS (Debian 12), the plugin says so instead of
// failing later in the handshake. Runs only there.
TEST(TpmProviderVersion, ATooOldTpm2OpensslIsRefusedWithItsVersion) {
    std::string version;
    const std::string why = swtpm::tls_unsupported_reason(&version);
    if (why.empty())
        GTEST_SKIP() << "tpm2-openssl " << (version.empty() ? "(none)" : version)
                     << " is not older than 1.2 here";
    iotgw::test::TempDir dir;
    std::unique_ptr<swtpm::SwTpm> tpm;
    try {
        tpm = std::make_unique<swtpm::SwTpm>(dir.path() / "swtpm");
    } catch (const std::exception& e) {
        FAIL() << e.what();
    }
    const fs::path cfg = dir.write("gateway.toml",
                                   "[gateway]\nthing = \"AMR-305\"\n[credentials.prod]\ntype = \"tpm\"\n"
                                   "cert = \"cert.pem\"\nkey = \"key.pem\"\nawait_provisioning = true\n"
                                   "tcti = \"" +
                                       tpm->tcti() + "\"\n");
    CommandResult r = run_program({IOTGW_BINARY, "check", "--config", cfg.string(), "--plugin-dir",
                                   iotgw::test::build_plugin_dir().string()},
                                  dir.path() / "check.log");
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.output.find("is version " + version + "; at least 1.2.0 is needed"), std::string::npos)
        << r.output;
}

}  // namespace
}  // namespace localcore::conformance
