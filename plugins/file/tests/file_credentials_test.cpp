// The `file` credentials plugin in a real Gateway: certificates from scripts/dev-pki, every
// refusal by its exact message, and re-checking after the files change.
#include "file_credentials_config.hpp"
#include "gateway_harness.hpp"
#include "mosquitto_broker.hpp"

#include <iotgw/sdk.hpp>

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <sys/stat.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>

namespace iotgw::test {
namespace {

namespace fs = std::filesystem;

// A source that does nothing but give the test a Host to ask for credentials with.
class CredsProbe final : public sdk::Source {
public:
    CredsProbe(sdk::Host h, const sdk::Config&) : Source(h) { current() = this; }
    ~CredsProbe() override { current() = nullptr; }
    static CredsProbe*& current() {
        static CredsProbe* p = nullptr;
        return p;
    }
};

const iotgw_plugin_descriptor* probe_entry(const iotgw_host_api* host) {
    const sdk::PluginInfo info{.abi_major = 1,
                               .abi_minor = 0,
                               .name = "creds_probe",
                               .version = "1.0.0",
                               .description = "asks for credentials in tests",
                               .fields = {}};
    return sdk::detail::entry<CredsProbe>(host, info);
}

// Replaces `p` the way rotation does: write a temporary file, rename it over.
void replace_file(const fs::path& p, const std::string& content) {
    fs::path tmp = p;
    tmp += ".new";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << content;
    }
    fs::permissions(tmp, fs::perms::owner_read | fs::perms::owner_write);
    fs::rename(tmp, p);
}

struct CertInfo {
    std::string not_before, not_after;
    int64_t not_after_unix = 0;
};

std::string iso(int64_t t) {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

CertInfo cert_info(const fs::path& pem) {
    FILE* f = std::fopen(pem.c_str(), "r");
    if (f == nullptr) throw std::runtime_error("cannot open " + pem.string());
    X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    if (x == nullptr) throw std::runtime_error("cannot parse " + pem.string());
    auto to_unix = [](const ASN1_TIME* t) {
        std::tm tm{};
        ASN1_TIME_to_tm(t, &tm);
        return static_cast<int64_t>(timegm(&tm));
    };
    CertInfo info;
    info.not_after_unix = to_unix(X509_get0_notAfter(x));
    info.not_after = iso(info.not_after_unix);
    info.not_before = iso(to_unix(X509_get0_notBefore(x)));
    X509_free(x);
    return info;
}

// Whole days left are counted from "now": a second boundary may pass between issuing a
// certificate for N days and checking it, so N or N-1 are both right.
bool has_days(const std::string& line, const std::string& before, int n, const std::string& after) {
    return line.find(before + std::to_string(n) + after) != std::string::npos ||
           line.find(before + std::to_string(n - 1) + after) != std::string::npos;
}

size_t count_days(const std::vector<std::string>& lines, int n) {
    size_t c = 0;
    for (const auto& l : lines) c += has_days(l, "(", n, " days left)") ? 1 : 0;
    return c;
}

class FileCredentialsTest : public ::testing::Test {
protected:
    FileCredentialsTest() { h.registry().add_builtin(&probe_entry, "builtin:creds_probe"); }

    static std::string config(const fs::path& cert, const fs::path& key, const std::string& extra = "") {
        return file_credentials_config("creds_probe", cert, key, extra);
    }

    // The error `start` reports for this config (empty if it started).
    std::string start_error(const fs::path& cert, const fs::path& key, const std::string& extra = "") {
        return h.start(config(cert, key, extra));
    }

    sdk::Credentials credentials() {
        EXPECT_NE(CredsProbe::current(), nullptr);
        return CredsProbe::current()->host().credentials("device");
    }

    double gauge(const std::string& name) {
        for (const auto& s : h.gateway().metrics().snapshot())
            if (s.name == name) return s.value;
        ADD_FAILURE() << "no metric " << name;
        return -1;
    }

    TempDir tmp;
    DevPki pki{tmp.path() / "pki"};
    GatewayHarness h;
};

TEST_F(FileCredentialsTest, ValidCredentialsLoadAndReportTheirExpiry) {
    auto dev = pki.device("AMR-001", "--days 100");
    ASSERT_EQ(start_error(dev.cert, dev.key, "ca = \"" + pki.ca.string() + "\""), "") << h.log().joined();
    const auto info = cert_info(dev.cert);
    const auto lines = h.lines_with("certificate AMR-001 ");
    ASSERT_EQ(lines.size(), 1u) << h.log().joined();
    EXPECT_NE(lines[0].find("<5>"), std::string::npos) << lines[0];
    EXPECT_TRUE(has_days(lines[0], " valid until " + info.not_after + " (", 100, " days left)")) << lines[0];
    EXPECT_TRUE(h.lines_with("expires in").empty()) << h.log().joined();

    auto c = credentials();
    EXPECT_EQ(c.cert_chain_path, dev.cert.string());
    EXPECT_EQ(c.private_key_path, dev.key.string());
    EXPECT_EQ(c.ca_path, pki.ca.string());
    EXPECT_EQ(c.not_after_unix, info.not_after_unix);
    EXPECT_GT(gauge("device.days_to_expiry"), 99.0);
    EXPECT_LT(gauge("device.days_to_expiry"), 100.01);
}

TEST_F(FileCredentialsTest, WarnsWhenExpiryIsWithinExpiryWarning) {
    auto dev = pki.device("AMR-001", "--days 5");
    ASSERT_EQ(start_error(dev.cert, dev.key), "") << h.log().joined();
    const auto info = cert_info(dev.cert);
    auto warnings = h.lines_with("<4>");
    ASSERT_EQ(warnings.size(), 1u) << h.log().joined();
    EXPECT_TRUE(has_days(warnings[0], "certificate AMR-001 expires in ", 5,
                         " days, at " + info.not_after + " (expiry_warning is 30d): renew it and replace " +
                             dev.cert.string() + " and " + dev.key.string()))
        << warnings[0];
    EXPECT_EQ(credentials().ca_path, "");  // no `ca`: the system trust store
}

TEST_F(FileCredentialsTest, AKeyReadableByOthersIsRefusedWithTheFix) {
    auto dev = pki.device("AMR-001");
    chmod(dev.key.c_str(), 0644);
    EXPECT_NE(start_error(dev.cert, dev.key)
                  .find("key " + dev.key.string() + " is readable by group or others (mode 0644): run `chmod 600 " +
                        dev.key.string() + "` (0600 or 0400 are accepted)"),
              std::string::npos)
        << h.log().joined();
}

TEST_F(FileCredentialsTest, AKeyWritableByGroupIsRefused) {
    auto dev = pki.device("AMR-001");
    chmod(dev.key.c_str(), 0620);
    EXPECT_NE(h.dry_run(config(dev.cert, dev.key))
                  .find("key " + dev.key.string() + " is writable by group or others (mode 0620): run `chmod 600 " +
                        dev.key.string() + "`"),
              std::string::npos);
}

TEST_F(FileCredentialsTest, ReadOnlyKeyIsAccepted) {
    auto dev = pki.device("AMR-001");
    chmod(dev.key.c_str(), 0400);
    EXPECT_EQ(start_error(dev.cert, dev.key), "");
}

TEST_F(FileCredentialsTest, MissingFilesAreNamed) {
    auto dev = pki.device("AMR-001");
    const auto nokey = tmp.path() / "nope.key";
    EXPECT_NE(start_error(dev.cert, nokey)
                  .find("key " + nokey.string() + " cannot be opened: No such file or directory (check `key`)"),
              std::string::npos)
        << h.log().joined();
    const auto nocert = tmp.path() / "nope.pem";
    EXPECT_NE(h.dry_run(config(nocert, dev.key))
                  .find("certificate " + nocert.string() +
                        " cannot be opened: No such file or directory (check `cert`)"),
              std::string::npos);
    const auto noca = tmp.path() / "nope-ca.pem";
    EXPECT_NE(h.dry_run(config(dev.cert, dev.key, "ca = \"" + noca.string() + "\""))
                  .find("ca " + noca.string() + " cannot be opened: No such file or directory (check `ca`)"),
              std::string::npos);
}

TEST_F(FileCredentialsTest, NeitherFileYetIsANotProvisionedDeviceValidForCheckButNotForStart) {
    const auto cert = tmp.path() / "device" / "cert.pem";
    const auto key = tmp.path() / "device" / "key.pem";
    const std::string expected = "neither the certificate " + cert.string() + " nor the key " + key.string() +
                                 " exists yet: the device is not provisioned (or `cert`/`key` name the wrong "
                                 "files); the gateway cannot connect until they exist";
    // `iotgw check` accepts it (a site template before provisioning), with a warning...
    EXPECT_EQ(h.dry_run(config(cert, key)), "");
    EXPECT_TRUE(h.log().contains("<4>credentials.device: " + expected)) << h.log().joined();
    // ...but the gateway does not start on it.
    EXPECT_NE(start_error(cert, key).find("failed to start: " + expected), std::string::npos) << h.log().joined();
}

TEST_F(FileCredentialsTest, FilesThatAppearAfterCreateAreCheckedAtStart) {
    const auto cert = tmp.path() / "late" / "cert.pem";
    const auto key = tmp.path() / "late" / "key.pem";
    ASSERT_EQ(h.load(config(cert, key)), "");
    auto dev = pki.device("AMR-001");
    fs::create_directories(cert.parent_path());
    fs::copy_file(dev.cert, cert);
    fs::copy_file(dev.key, key);
    fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write);
    EXPECT_EQ(h.start(config(cert, key)), "") << h.log().joined();
    EXPECT_EQ(credentials().cert_chain_path, cert.string());
}

TEST_F(FileCredentialsTest, AKeyThatIsNotARegularFileIsRefused) {
    auto dev = pki.device("AMR-001");
    const auto dir = tmp.path() / "keydir";
    fs::create_directory(dir);
    chmod(dir.c_str(), 0700);
    EXPECT_NE(h.dry_run(config(dev.cert, dir))
                  .find("key " + dir.string() + " is a directory, not a regular file (check `key`)"),
              std::string::npos);
}

TEST_F(FileCredentialsTest, AnEncryptedKeyIsRefusedSayingPassphrasesAreUnsupported) {
    auto dev = pki.device("AMR-001");
    const auto enc = tmp.path() / "enc.key";
    const std::string cmd = "openssl pkey -in '" + dev.key.string() + "' -aes256 -passout pass:secret -out '" +
                            enc.string() + "' 2>/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    chmod(enc.c_str(), 0600);
    EXPECT_NE(h.dry_run(config(dev.cert, enc))
                  .find("key " + enc.string() +
                        " is encrypted with a passphrase, which the file plugin does not support: store it "
                        "unencrypted with mode 0600"),
              std::string::npos);
}

TEST_F(FileCredentialsTest, AKeyThatDoesNotParseIsRefused) {
    auto dev = pki.device("AMR-001");
    const auto bad = tmp.write("bad.key", "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n");
    chmod(bad.c_str(), 0600);
    const auto err = h.dry_run(config(dev.cert, bad));
    EXPECT_NE(err.find("key " + bad.string() + " does not contain a PEM private key OpenSSL can read: "),
              std::string::npos)
        << err;
}

TEST_F(FileCredentialsTest, EmptyOrGarbageCertificatesAreRefused) {
    auto dev = pki.device("AMR-001");
    const auto empty = tmp.write("empty.pem", "");
    EXPECT_NE(h.dry_run(config(empty, dev.key))
                  .find("certificate " + empty.string() +
                        " contains no PEM certificate (\"-----BEGIN CERTIFICATE-----\")"),
              std::string::npos);
    const auto garbage = tmp.write("garbage.pem", "-----BEGIN CERTIFICATE-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE-----\n");
    EXPECT_NE(h.dry_run(config(garbage, dev.key)).find("certificate " + garbage.string() + " does not parse as a PEM certificate: "),
              std::string::npos);
    // A good leaf followed by a broken second certificate.
    const auto chain = tmp.write("chain.pem", read_text_file(dev.cert) + read_text_file(garbage));
    EXPECT_NE(h.dry_run(config(chain, dev.key)).find("certificate " + chain.string() + ": certificate 2 does not parse: "),
              std::string::npos);
}

TEST_F(FileCredentialsTest, ACertificateForAnotherKeyIsRefused) {
    auto a = pki.device("AMR-001");
    auto b = pki.device("AMR-002");
    EXPECT_NE(start_error(a.cert, b.key)
                  .find("certificate " + a.cert.string() + " does not belong to key " + b.key.string() +
                        ": the certificate's public key is not the key's"),
              std::string::npos)
        << h.log().joined();
}

TEST_F(FileCredentialsTest, AnExpiredCertificateIsRefusedWithItsDateAndWhatToDo) {
    auto dev = pki.device("AMR-001", "--expired");
    const auto info = cert_info(dev.cert);
    const auto err = start_error(dev.cert, dev.key);
    EXPECT_NE(err.find("certificate " + dev.cert.string() + " expired at " + info.not_after + ", now is 20"),
              std::string::npos)
        << err;
    EXPECT_NE(err.find(": renew it (issue a new certificate for the device and replace `cert` and `key`; "
                       "with await_provisioning = true and a fleet_provisioning source the gateway renews "
                       "it itself)"),
              std::string::npos)
        << err;
}

// A device that slept past its certificate's expiry must still start, so that fleet_provisioning
// can replace the certificate; meanwhile the expired pair is never handed out.
TEST_F(FileCredentialsTest, WithAwaitProvisioningAnExpiredCertificateStartsButIsNotHandedOut) {
    auto dev = pki.device("AMR-001", "--expired");
    ASSERT_EQ(start_error(dev.cert, dev.key, "await_provisioning = true"), "") << h.log().joined();
    EXPECT_TRUE(h.log().contains("expired at")) << h.log().joined();
    EXPECT_TRUE(h.log().contains("waiting for provisioning to replace")) << h.log().joined();
    try {
        credentials();
        ADD_FAILURE() << "an expired certificate was handed out";
    } catch (const sdk::Error& e) {
        EXPECT_NE(std::string(e.what()).find("expired at"), std::string::npos) << e.what();
    }
}

TEST_F(FileCredentialsTest, WithAwaitProvisioningANotYetValidCertificateIsNotHandedOut) {
    auto dev = pki.device("AMR-001", "--not-yet-valid");
    ASSERT_EQ(start_error(dev.cert, dev.key, "await_provisioning = true"), "") << h.log().joined();
    try {
        credentials();
        ADD_FAILURE() << "a certificate that is not valid yet was handed out";
    } catch (const sdk::Error& e) {
        EXPECT_NE(std::string(e.what()).find("is not valid yet"), std::string::npos) << e.what();
    }
}

TEST_F(FileCredentialsTest, ANotYetValidCertificateIsRefusedWithItsDate) {
    auto dev = pki.device("AMR-001", "--not-yet-valid");
    const auto info = cert_info(dev.cert);
    const auto err = start_error(dev.cert, dev.key);
    EXPECT_NE(err.find("certificate " + dev.cert.string() + " is not valid yet: valid from " + info.not_before +
                       ", now is 20"),
              std::string::npos)
        << err;
    EXPECT_NE(err.find("(is the system clock right?"), std::string::npos) << err;
}

TEST_F(FileCredentialsTest, ACaFileWithoutCertificatesIsRefused) {
    auto dev = pki.device("AMR-001");
    const auto ca = tmp.write("ca.pem", "not a certificate\n");
    EXPECT_NE(h.dry_run(config(dev.cert, dev.key, "ca = \"" + ca.string() + "\""))
                  .find("ca " + ca.string() + " contains no PEM certificate"),
              std::string::npos);
}

TEST_F(FileCredentialsTest, ChangedFilesAreRecheckedAndBadOnesNeverHandedOut) {
    auto dev = pki.device("AMR-001", "--days 100");
    ASSERT_EQ(start_error(dev.cert, dev.key), "") << h.log().joined();
    const std::string first_cert = read_text_file(dev.cert);
    EXPECT_EQ(credentials().cert_chain_path, dev.cert.string());

    // Rotation: new key and certificate, renamed into place.
    pki.device("AMR-001", "--days 200");
    auto c = credentials();
    EXPECT_EQ(c.cert_chain_path, dev.cert.string());
    EXPECT_EQ(c.not_after_unix, cert_info(dev.cert).not_after_unix);
    EXPECT_EQ(h.lines_with("the credential files changed and were checked").size(), 1u) << h.log().joined();
    EXPECT_EQ(count_days(h.lines_with("valid until"), 200), 1u) << h.log().joined();
    const std::string second_cert = read_text_file(dev.cert);
    ASSERT_NE(second_cert, first_cert);

    // A broken replacement: the last good files are handed out through their descriptors.
    replace_file(dev.cert, "-----BEGIN CERTIFICATE-----\ntruncated");
    c = credentials();
    EXPECT_EQ(c.cert_chain_path.rfind("/proc/self/fd/", 0), 0u) << c.cert_chain_path;
    EXPECT_EQ(read_text_file(c.cert_chain_path), second_cert);
    EXPECT_NE(read_text_file(c.private_key_path).find("PRIVATE KEY"), std::string::npos);
    EXPECT_EQ(c.not_after_unix, cert_info(c.cert_chain_path).not_after_unix);
    credentials();  // reported once, not on every call
    const auto errors = h.lines_with("the credential files changed but cannot be used, so the previous ones are kept: ");
    ASSERT_EQ(errors.size(), 1u) << h.log().joined();
    EXPECT_NE(errors[0].find("certificate " + dev.cert.string()), std::string::npos) << errors[0];

    // Fixed again.
    pki.device("AMR-001", "--days 300");
    c = credentials();
    EXPECT_EQ(c.cert_chain_path, dev.cert.string());
    EXPECT_EQ(c.private_key_path, dev.key.string());
    EXPECT_EQ(count_days(h.lines_with("valid until"), 300), 1u) << h.log().joined();
}

TEST_F(FileCredentialsTest, UnknownCredentialsInstanceIsReported) {
    auto dev = pki.device("AMR-001");
    ASSERT_EQ(start_error(dev.cert, dev.key), "");
    EXPECT_THROW(CredsProbe::current()->host().credentials("nope"), sdk::Error);
}

}  // namespace
}  // namespace iotgw::test
