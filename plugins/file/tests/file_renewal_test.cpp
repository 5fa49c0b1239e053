// On-device renewal by the `file` credentials plugin (ABI 1.1), through the host API as another
// plugin uses it: a new key and CSR in the pending slot, the issued certificate stored as pending,
// promotion with the old pair kept as backup, rollback, discard, the "changed" event, and
// recovery of a promotion a crash interrupted. Certificates are issued for the CSRs by the
// dev-pki CA with the openssl command line.
#include "file_credentials_config.hpp"
#include "gateway_harness.hpp"
#include "mosquitto_broker.hpp"

#include <iotgw/sdk.hpp>

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace iotgw::test {
namespace {

namespace fs = std::filesystem;

class RenewProbe final : public sdk::Source {
public:
    RenewProbe(sdk::Host h, const sdk::Config&) : Source(h) { current() = this; }
    ~RenewProbe() override { current() = nullptr; }
    void start() override {
        sub_ = host().subscribe_events(
            "$iotgw/instance/device/changed",
            [this](std::string_view, std::string_view p) { changed.emplace_back(p); });
    }
    static RenewProbe*& current() {
        static RenewProbe* p = nullptr;
        return p;
    }
    std::vector<std::string> changed;

private:
    sdk::EventSubscription sub_;
};

const iotgw_plugin_descriptor* probe_entry(const iotgw_host_api* host) {
    const sdk::PluginInfo info{.abi_major = 1,
                               .abi_minor = 1,
                               .name = "renew_probe",
                               .version = "1.0.0",
                               .description = "drives credential renewal in tests",
                               .fields = {}};
    return sdk::detail::entry<RenewProbe>(host, info);
}

unsigned mode_of(const fs::path& p) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) return 0;
    return st.st_mode & 07777;
}

class FileRenewalTest : public ::testing::Test {
protected:
    FileRenewalTest() { h.registry().add_builtin(&probe_entry, "builtin:renew_probe"); }

    std::string config(const std::string& extra = "") const {
        return file_credentials_config("renew_probe", cert, key, extra);
    }

    void install_device(int days = 100) {
        auto dev = pki.device("AMR-001", "--days " + std::to_string(days));
        fs::create_directories(cert.parent_path());
        fs::copy_file(dev.cert, cert, fs::copy_options::overwrite_existing);
        fs::copy_file(dev.key, key, fs::copy_options::overwrite_existing);
        fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write);
    }

    sdk::RenewalResult renew(sdk::RenewalOp op, const std::string& input = "") {
        std::optional<sdk::RenewalResult> result;
        RenewProbe::current()->host().renew_credentials("device", op, input,
                                                        [&](const sdk::RenewalResult& r) { result = r; });
        EXPECT_FALSE(result) << "the completion must not run inside the call";
        EXPECT_TRUE(h.run_until([&] { return result.has_value(); })) << h.log().joined();
        return result.value_or(sdk::RenewalResult{IOTGW_ERR_FAILED, "", "no completion"});
    }

    // Issues a certificate for `csr_pem` from the dev CA, valid `days`.
    std::string issue(const std::string& csr_pem, int days = 200) {
        const fs::path csr = tmp.write("req-" + std::to_string(++issued_) + ".csr", csr_pem);
        const fs::path out = tmp.path() / ("issued-" + std::to_string(issued_) + ".pem");
        const std::string cmd = "openssl x509 -req -in '" + csr.string() + "' -CA '" + pki.ca.string() +
                                "' -CAkey '" + (pki.dir / "ca.key").string() + "' -CAcreateserial -days " +
                                std::to_string(days) + " -out '" + out.string() + "' 2>/dev/null";
        EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
        return read_text_file(out);
    }

    sdk::Credentials current() { return RenewProbe::current()->host().credentials("device"); }

    bool leftovers() const {
        for (const auto& e : fs::directory_iterator(cert.parent_path()))
            if (e.path().extension() == ".tmp") return true;
        return false;
    }

    TempDir tmp;
    DevPki pki{tmp.path() / "pki"};
    fs::path cert = tmp.path() / "device" / "cert.pem";
    fs::path key = tmp.path() / "device" / "key.pem";
    fs::path cert_pending = fs::path(cert.string() + ".pending"),
             key_pending = fs::path(key.string() + ".pending");
    fs::path cert_backup = fs::path(cert.string() + ".previous"),
             key_backup = fs::path(key.string() + ".previous");
    GatewayHarness h;
    int issued_ = 0;
};

TEST_F(FileRenewalTest, CreateStorePromoteRollbackAndDiscard) {
    install_device(100);
    ASSERT_EQ(h.start(config()), "") << h.log().joined();
    const std::string old_cert = read_text_file(cert), old_key = read_text_file(key);
    const int64_t old_not_after = current().not_after_unix;

    // A new key in the pending slot, mode 0600; the CSR carries the subject; current unchanged.
    auto r = renew(sdk::RenewalOp::create_key, "AMR-001");
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.output.rfind("-----BEGIN CERTIFICATE REQUEST-----", 0), 0u) << r.output;
    EXPECT_EQ(mode_of(key_pending), 0600u);
    EXPECT_NE(read_text_file(key_pending), old_key);
    EXPECT_EQ(read_text_file(key), old_key);
    const fs::path csr_file = tmp.write("check.csr", r.output);
    const std::string subject_cmd =
        "openssl req -in '" + csr_file.string() + "' -noout -subject -verify 2>&1 | grep -q 'CN *= *AMR-001'";
    EXPECT_EQ(std::system(subject_cmd.c_str()), 0);
    EXPECT_THROW(RenewProbe::current()->host().pending_credentials("device"), sdk::Error);

    // A certificate for another key is refused and nothing is stored.
    auto other = pki.device("AMR-002");
    auto refused = renew(sdk::RenewalOp::store_cert, read_text_file(other.cert));
    EXPECT_FALSE(refused.ok());
    EXPECT_NE(refused.error.find(
                  "store certificate failed: the issued certificate does not belong to the pending key " +
                  key_pending.string()),
              std::string::npos)
        << refused.error;
    EXPECT_FALSE(fs::exists(cert_pending));

    const std::string new_cert = issue(r.output);
    ASSERT_TRUE(renew(sdk::RenewalOp::store_cert, new_cert).ok());
    auto pending = RenewProbe::current()->host().pending_credentials("device");
    EXPECT_EQ(pending.cert_chain_path, cert_pending.string());
    EXPECT_EQ(pending.private_key_path, key_pending.string());
    EXPECT_EQ(current().not_after_unix, old_not_after);  // still the old pair
    EXPECT_TRUE(RenewProbe::current()->changed.empty());

    // Promote: the new pair is current, the old one is the backup, the event says so.
    const std::string new_key = read_text_file(key_pending);
    ASSERT_TRUE(renew(sdk::RenewalOp::promote).ok());
    EXPECT_EQ(read_text_file(cert), new_cert);
    EXPECT_EQ(read_text_file(key), new_key);
    EXPECT_EQ(read_text_file(cert_backup), old_cert);
    EXPECT_EQ(read_text_file(key_backup), old_key);
    EXPECT_FALSE(fs::exists(cert_pending));
    EXPECT_FALSE(fs::exists(key_pending));
    EXPECT_GT(current().not_after_unix, old_not_after);
    ASSERT_EQ(RenewProbe::current()->changed.size(), 1u);
    EXPECT_EQ(RenewProbe::current()->changed[0], R"({"reason":"promoted"})");
    EXPECT_EQ(mode_of(key), 0600u);

    // Rollback: the old pair is back and the backup slot is empty.
    ASSERT_TRUE(renew(sdk::RenewalOp::rollback).ok());
    EXPECT_EQ(read_text_file(cert), old_cert);
    EXPECT_EQ(read_text_file(key), old_key);
    EXPECT_FALSE(fs::exists(cert_backup));
    EXPECT_FALSE(fs::exists(key_backup));
    EXPECT_EQ(current().not_after_unix, old_not_after);
    ASSERT_EQ(RenewProbe::current()->changed.size(), 2u);
    EXPECT_EQ(RenewProbe::current()->changed[1], R"({"reason":"rolled back"})");
    // A second rollback has nothing to return to.
    auto again = renew(sdk::RenewalOp::rollback);
    EXPECT_FALSE(again.ok());
    EXPECT_NE(again.error.find("there is no previous pair"), std::string::npos) << again.error;

    // Discard drops a pending key.
    ASSERT_TRUE(renew(sdk::RenewalOp::create_key, "AMR-001").ok());
    ASSERT_TRUE(fs::exists(key_pending));
    ASSERT_TRUE(renew(sdk::RenewalOp::discard).ok());
    EXPECT_FALSE(fs::exists(key_pending));
    EXPECT_FALSE(fs::exists(cert_pending));
    // Promote without a pending pair is refused and changes nothing.
    auto nothing = renew(sdk::RenewalOp::promote);
    EXPECT_FALSE(nothing.ok());
    EXPECT_EQ(read_text_file(cert), old_cert);
    EXPECT_FALSE(leftovers());
}

// The weaker CreateKeysAndCertificate method: a pair made elsewhere becomes the pending pair,
// the key re-encoded with mode 0600; bad input is refused and leaves nothing behind.
TEST_F(FileRenewalTest, AnImportedPairBecomesPendingAndBadPairsAreRefused) {
    install_device(100);
    ASSERT_EQ(h.start(config()), "") << h.log().joined();
    auto import = [&](const std::string& pem) {
        std::optional<sdk::RenewalResult> result;
        RenewProbe::current()->host().import_credentials("device", pem,
                                                         [&](const sdk::RenewalResult& r) { result = r; });
        EXPECT_TRUE(h.run_until([&] { return result.has_value(); })) << h.log().joined();
        return result.value_or(sdk::RenewalResult{IOTGW_ERR_FAILED, "", "no completion"});
    };
    auto a = pki.device("AMR-001", "--days 300");
    auto b = pki.device("AMR-002");
    const auto mismatched = import(read_text_file(a.cert) + read_text_file(b.key));
    EXPECT_FALSE(mismatched.ok());
    EXPECT_NE(mismatched.error.find("does not belong to the imported private key"), std::string::npos)
        << mismatched.error;
    const auto no_key = import(read_text_file(a.cert));
    EXPECT_NE(no_key.error.find("holds no PEM private key"), std::string::npos) << no_key.error;
    const auto no_cert = import(read_text_file(a.key));
    EXPECT_NE(no_cert.error.find("holds no PEM certificate"), std::string::npos) << no_cert.error;
    EXPECT_FALSE(fs::exists(key_pending));
    EXPECT_FALSE(fs::exists(cert_pending));

    // Key first or certificate first: both work.
    const auto ok = import(read_text_file(a.key) + read_text_file(a.cert));
    ASSERT_TRUE(ok.ok()) << ok.error;
    EXPECT_EQ(mode_of(key_pending), 0600u);
    EXPECT_EQ(read_text_file(cert_pending), read_text_file(a.cert));
    ASSERT_TRUE(renew(sdk::RenewalOp::promote).ok());
    EXPECT_EQ(read_text_file(cert), read_text_file(a.cert));
    EXPECT_EQ(current().cert_chain_path, cert.string());
    EXPECT_FALSE(leftovers());
}

TEST_F(FileRenewalTest, FirstBootWithAwaitProvisioningStartsAndBecomesUsableAfterPromotion) {
    ASSERT_EQ(h.start(config("await_provisioning = true")), "") << h.log().joined();
    EXPECT_TRUE(h.log().contains("waiting for provisioning to create " + cert.string())) << h.log().joined();
    EXPECT_THROW(current(), sdk::Error);
    fs::create_directories(cert.parent_path());
    auto r = renew(sdk::RenewalOp::create_key, "AMR-001");
    ASSERT_TRUE(r.ok()) << r.error;
    ASSERT_TRUE(renew(sdk::RenewalOp::store_cert, issue(r.output, 30)).ok());
    ASSERT_TRUE(renew(sdk::RenewalOp::promote).ok());
    EXPECT_EQ(current().cert_chain_path, cert.string());
    EXPECT_FALSE(fs::exists(cert_backup));  // nothing to keep on first boot
    EXPECT_EQ(h.lines_with("valid until").size(), 1u) << h.log().joined();
}

TEST_F(FileRenewalTest, WithoutAwaitProvisioningAMissingPairStillRefusesToStart) {
    EXPECT_NE(h.start(config()).find("the device is not provisioned"), std::string::npos);
}

TEST_F(FileRenewalTest, APromotionInterruptedAfterTheKeyRenameIsCompletedAtStart) {
    // The state a crash between the two renames of a promotion leaves: the new key in place, the
    // old certificate still current, the new certificate under its pending name.
    install_device(100);
    auto fresh = pki.device("AMR-001", "--days 300");
    fs::copy_file(fresh.key, key, fs::copy_options::overwrite_existing);
    fs::copy_file(fresh.cert, cert_pending);
    ASSERT_EQ(h.start(config()), "") << h.log().joined();
    EXPECT_TRUE(h.log().contains("completed an interrupted promotion (" + cert_pending.string() + " -> " +
                                 cert.string() + ")"))
        << h.log().joined();
    EXPECT_EQ(read_text_file(cert), read_text_file(fresh.cert));
    EXPECT_FALSE(fs::exists(cert_pending));
}

TEST_F(FileRenewalTest, ARollbackInterruptedAfterTheKeyRenameIsCompletedAtStart) {
    install_device(100);
    const std::string failed_cert = read_text_file(cert);
    auto old = pki.device("AMR-001", "--days 50");
    fs::copy_file(old.key, key, fs::copy_options::overwrite_existing);  // the backup key is back
    fs::copy_file(old.cert, cert_backup);                               // its certificate not yet
    std::ofstream(key.string() + ".pending.tmp") << "half";
    ASSERT_EQ(h.start(config()), "") << h.log().joined();
    EXPECT_TRUE(h.log().contains("completed an interrupted rollback")) << h.log().joined();
    EXPECT_TRUE(h.log().contains("removed the unfinished " + key_pending.string() + ".tmp"))
        << h.log().joined();
    EXPECT_EQ(read_text_file(cert), read_text_file(old.cert));
    EXPECT_NE(read_text_file(cert), failed_cert);
    EXPECT_FALSE(leftovers());
}

}  // namespace
}  // namespace iotgw::test
