// The pkcs11 credentials plugin in a real gateway against localcore, with a SoftHSM2 token:
// first boot generates the production key ON the token (checked through its PKCS#11 attributes:
// sensitive, never extractable, and its value cannot be read), the CSR is signed there, the gateway
// then connects over TLS with that key, and a rotation replaces it with another token key. Also the
// refusals an operator meets: a PIN file others can read, a file key instead of a token key, a
// missing provider module.
#include "gateway_harness.hpp"
#include "localcore_fixture.hpp"
#include "provisioning_gateway.hpp"
#include "softhsm_token.hpp"

#include <iotgw/plugins/common/pem_der.hpp>

#include <gtest/gtest.h>

#include <fstream>

namespace localcore::conformance {
namespace {

using iotgw::test::GatewayHarness;
namespace hsm = iotgw::test::pkcs11;

// The object label inside a key's URI PEM, read independently of the plugin: the PEM's DER ends
// with the URI as a UTF8String, whose `object=` attribute names the token object.
std::string key_label(const fs::path& key) {
    const auto block = iotgw::plugins::common::read_pem_block(read_text_file(key));
    if (!block) return "";
    const std::string& der = block->der;
    const auto at = der.find(";object=");
    if (at == std::string::npos) return "";
    const auto start = at + 8;
    return der.substr(start, der.find(';', start) - start);
}

class Pkcs11LocalCoreTest : public LocalCoreTest {
protected:
    void SetUp() override {
        try {
            token = &hsm::softhsm();
        } catch (const std::exception& e) {
            FAIL() << e.what();
        }
        LocalCoreTest::SetUp();
        std::tie(prod_dir, sync_flag) = make_gateway_scratch(*lc);
    }

    std::string pkcs11_section(const std::string& extra = "") const {
        return "[credentials.prod]\n" + prod_credentials(extra);
    }

    // The body of `[credentials.prod]`: the token's key and the certificate in `prod_dir`.
    std::string prod_credentials(const std::string& extra) const {
        return "type = \"pkcs11\"\ncert = \"" + (prod_dir / "cert.pem").string() + "\"\nkey = \"" +
               (prod_dir / "key.pem").string() + "\"\nca = \"" + lc->ca().string() + "\"\nmodule = \"" +
               token->module + "\"\ntoken = \"" + token->token + "\"\npin_file = \"" +
               token->pin_file.string() + "\"\n" + extra;
    }

    std::string config(const std::string& thing, const std::string& provisioning_extra = "") const {
        return fleet_config(*lc, thing, prod_dir, sync_flag, provisioning_extra,
                            prod_credentials("await_provisioning = true\n"));
    }

    // The key `key` names is on the token, sensitive and never extractable, and its value
    // cannot be read off the token.
    void expect_token_key(const fs::path& key) {
        const std::string pem = read_text_file(key);
        EXPECT_NE(pem.find("-----BEGIN PKCS#11 PROVIDER URI-----"), std::string::npos) << pem;
        EXPECT_EQ(pem.find("PRIVATE KEY"), std::string::npos) << "a key in the file: " << pem;
        const std::string label = key_label(key);
        ASSERT_FALSE(label.empty()) << pem;
        const std::string access = hsm::private_key_access(label);
        EXPECT_NE(access.find("sensitive"), std::string::npos) << access << "\n" << hsm::list_objects();
        EXPECT_NE(access.find("always sensitive"), std::string::npos) << access;
        EXPECT_NE(access.find("never extractable"), std::string::npos) << access;
        EXPECT_NE(access.find("local"), std::string::npos) << "generated on the token: " << access;
        bool read = true;
        const std::string why = hsm::read_private_key_value(label, &read);
        EXPECT_FALSE(read) << "the private key's value was read off the token: " << why;
    }

    // Whether the gateway logged its connection to localcore as `thing` at least `n` times.
    bool connected_times(GatewayHarness& h, const std::string& thing, size_t n, std::chrono::seconds limit) {
        const std::string line =
            "connected to localhost:" + std::to_string(lc->port()) + " as '" + thing + "'";
        return h.run_until([&] { return h.lines_with(line).size() >= n; }, limit);
    }

    const hsm::SoftHsm* token = nullptr;
    fs::path prod_dir, sync_flag;
};

TEST_F(Pkcs11LocalCoreTest, FirstBootGeneratesTheKeyOnTheTokenAndTheGatewayConnectsWithIt) {
    const std::string thing = "AMR-201";
    GatewayHarness h;
    ASSERT_EQ(h.start(config(thing)), "") << h.log().joined();
    ASSERT_TRUE(h.run_until_logged("provisioning succeeded", std::chrono::seconds(30))) << h.log().joined();
    // TLS with the token's key: the production connection runs as the thing.
    ASSERT_TRUE(connected_times(h, thing, 1, std::chrono::seconds(10))) << h.log().joined();
    EXPECT_TRUE(h.log().contains("generated a new key in PKCS#11 token '" + token->token + "'"))
        << h.log().joined();
    const std::string id = certificate_id_of(prod_dir / "cert.pem");
    ASSERT_EQ(id.size(), 64u);
    EXPECT_EQ(lc->cert_status(id), "ACTIVE");
    expect_token_key(prod_dir / "key.pem");
}

TEST_F(Pkcs11LocalCoreTest, RotationReplacesTheTokenKeyWithANewTokenKey) {
    const std::string thing = "AMR-202";
    GatewayHarness h;
    // localcore issues 365-day certificates: due ~15 s after issue, so the first rotation follows
    // right after first boot (and the production connection is up before it).
    ASSERT_EQ(h.start(config(thing, "rotate_before = \"364d23h59m45s\"\n")), "") << h.log().joined();
    ASSERT_TRUE(h.run_until_logged("provisioning succeeded", std::chrono::seconds(30))) << h.log().joined();
    const std::string first_id = certificate_id_of(prod_dir / "cert.pem");
    const std::string first_label = key_label(prod_dir / "key.pem");
    ASSERT_TRUE(h.run_until_logged("rotation succeeded", std::chrono::seconds(60))) << h.log().joined();
    const std::string new_id = certificate_id_of(prod_dir / "cert.pem");
    ASSERT_EQ(new_id.size(), 64u);
    EXPECT_NE(new_id, first_id);
    EXPECT_EQ(lc->cert_status(new_id), "ACTIVE");
    EXPECT_NE(key_label(prod_dir / "key.pem"), first_label) << "the rotation made a new key on the token";
    EXPECT_EQ(key_label(prod_dir / "key.pem.previous"), first_label);
    expect_token_key(prod_dir / "key.pem");
    // The gateway reconnected with the new token key.
    ASSERT_TRUE(connected_times(h, thing, 2, std::chrono::seconds(10))) << h.log().joined();
    EXPECT_EQ(lc->cert_status(first_id), "INACTIVE");
}

// A secure element holds a handful of keys: a rotation that replaces the previous pair deletes
// that pair's key from the token (private and public object), and keeps the current and previous.
TEST_F(Pkcs11LocalCoreTest, ASecondRotationDeletesTheOldestKeyFromTheToken) {
    const std::string thing = "AMR-205";
    GatewayHarness h;
    ASSERT_EQ(h.start(config(thing, "rotate_before = \"364d23h59m45s\"\n")), "") << h.log().joined();
    ASSERT_TRUE(h.run_until_logged("provisioning succeeded", std::chrono::seconds(30))) << h.log().joined();
    const std::string first = key_label(prod_dir / "key.pem");
    ASSERT_FALSE(first.empty());
    ASSERT_TRUE(
        h.run_until([&] { return h.lines_with("rotation succeeded").size() >= 2; }, std::chrono::seconds(90)))
        << h.log().joined();
    const std::string current = key_label(prod_dir / "key.pem");
    const std::string previous = key_label(prod_dir / "key.pem.previous");
    ASSERT_FALSE(current.empty());
    ASSERT_FALSE(previous.empty());
    EXPECT_NE(previous, first);
    EXPECT_NE(current, previous);
    EXPECT_TRUE(h.log().contains("deleted the replaced key '" + first + "' (2 objects) from PKCS#11 token"))
        << h.log().joined();
    const std::string privkeys = hsm::list_objects("privkey");
    const std::string pubkeys = hsm::list_objects("pubkey");
    EXPECT_EQ(privkeys.find(first), std::string::npos) << privkeys;
    EXPECT_EQ(pubkeys.find(first), std::string::npos) << pubkeys;
    EXPECT_NE(privkeys.find(current), std::string::npos) << privkeys;
    EXPECT_NE(privkeys.find(previous), std::string::npos) << "kept for a rollback: " << privkeys;
    expect_token_key(prod_dir / "key.pem");
    // The deletion left the gateway's own login alone: it connects with the current key.
    ASSERT_TRUE(connected_times(h, thing, 3, std::chrono::seconds(15))) << h.log().joined();
    EXPECT_FALSE(h.log().contains("cannot free the replaced key")) << h.log().joined();
}

TEST_F(Pkcs11LocalCoreTest, APinFileOthersCanReadIsRefused) {
    const fs::path pin = lc->scratch() / "pin-0644";
    std::ofstream(pin) << token->pin << "\n";
    fs::permissions(
        pin, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
    std::string cfg = "[gateway]\nthing = \"AMR-203\"\n" + pkcs11_section("await_provisioning = true\n");
    cfg.replace(cfg.find(token->pin_file.string()), token->pin_file.string().size(), pin.string());
    GatewayHarness h;
    const std::string err = h.start(cfg);
    EXPECT_NE(err.find("PIN file " + pin.string() +
                       " is accessible by group or others (mode 0644): run `chmod 600"),
              std::string::npos)
        << err;
}

TEST_F(Pkcs11LocalCoreTest, AKeyInAFileIsRefusedBecauseItIsNotOnTheToken) {
    fs::copy_file(lc->amr1.cert, prod_dir / "cert.pem");
    fs::copy_file(lc->amr1.key, prod_dir / "key.pem");
    GatewayHarness h;
    const std::string err = h.start("[gateway]\nthing = \"AMR-001\"\n" + pkcs11_section());
    EXPECT_NE(err.find("is a private key in a file, not a reference to a key on the token"),
              std::string::npos)
        << err;
}

TEST_F(Pkcs11LocalCoreTest, AMissingModuleOrProviderIsNamed) {
    GatewayHarness h;
    std::string cfg = "[gateway]\nthing = \"AMR-204\"\n" + pkcs11_section("await_provisioning = true\n");
    const std::string bad = cfg;
    cfg.replace(cfg.find(token->module), token->module.size(), "/nonexistent/libvendor-pkcs11.so");
    const std::string err = h.start(cfg);
    EXPECT_NE(err.find("PKCS#11 module /nonexistent/libvendor-pkcs11.so cannot be read"), std::string::npos)
        << err;
    GatewayHarness h2;
    const std::string err2 = h2.start(bad + "provider = \"/nonexistent/pkcs11.so\"\n");
    // Either named as not installed (first load in this process) or as loaded with other settings.
    EXPECT_TRUE(
        err2.find("/nonexistent/pkcs11.so does not exist (install the Debian package pkcs11-provider") !=
            std::string::npos ||
        err2.find("already loaded in this gateway with other settings") != std::string::npos)
        << err2;
}

}  // namespace
}  // namespace localcore::conformance
