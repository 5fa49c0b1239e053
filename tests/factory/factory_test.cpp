// The factory step as an integrator runs it (docs/factory.md): `iotgw factory claim-csr` on each
// device, `scripts/claim-certs` on the workstation (localcore as the CA, or a recording stub of
// the AWS CLI), `iotgw factory claim-install` on each device. Real binaries, temp directories,
// no network.
#include "child_process.hpp"
#include "test_support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

namespace iotgw::test {
namespace {

using namespace std::chrono_literals;
using testing::HasSubstr;
namespace fs = std::filesystem;

struct Result {
    int exit_code = -1;
    std::string output;  // stdout and stderr
};

Result run(const std::vector<std::string>& args, const fs::path& log,
           const std::vector<std::string>& env = {}) {
    ChildProcess p(args, log, env);
    Result r;
    r.exit_code = p.wait_exit(60s);
    r.output = p.log();
    return r;
}

std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

struct FileState {
    std::string bytes;
    ino_t inode = 0;
    mode_t mode = 0;
    bool operator==(const FileState&) const = default;
};

FileState state_of(const fs::path& p) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) return {};
    return {read(p), st.st_ino, st.st_mode & 07777};
}

// Subject CN of the first certificate in `pem_file`, and whether it belongs to the key in `key_file`.
struct CertCheck {
    std::string cn;
    bool matches_key = false;
};

CertCheck check_cert(const fs::path& pem_file, const fs::path& key_file) {
    CertCheck c;
    FILE* f = std::fopen(pem_file.c_str(), "r");
    if (f == nullptr) return c;
    X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    if (cert == nullptr) return c;
    char cn[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
    c.cn = cn;
    if (FILE* k = std::fopen(key_file.c_str(), "r")) {
        EVP_PKEY* key = PEM_read_PrivateKey(k, nullptr, nullptr, nullptr);
        std::fclose(k);
        c.matches_key = key != nullptr && X509_check_private_key(cert, key) == 1;
        EVP_PKEY_free(key);
    }
    X509_free(cert);
    return c;
}

// One device: its own directory with a gateway config whose claim credentials are `file`.
struct Device {
    std::string serial;
    fs::path dir;
    fs::path config() const { return dir / "gw.toml"; }
    fs::path claim_key() const { return dir / "claim" / "key.pem"; }
    fs::path claim_cert() const { return dir / "claim" / "cert.pem"; }
    fs::path pending_key() const { return dir / "claim" / "key.pem.pending"; }
};

constexpr const char* kFileClaim = R"(type = "file"
cert = "claim/cert.pem"
key = "claim/key.pem"
)";

// `claim`: the body of [credentials.claim]; `extra`: appended to the config.
Device make_device(const TempDir& tmp, const std::string& serial, const std::string& extra = "",
                   const std::string& claim = kFileClaim) {
    Device d{serial, tmp.path() / "devices" / serial};
    fs::create_directories(d.dir / "claim");
    fs::create_directories(d.dir / "prod");
    tmp.write("devices/" + serial + "/gw.toml", R"([gateway]
thing = ")" + serial + R"("
[credentials.prod]
type = "file"
cert = "prod/cert.pem"
key = "prod/key.pem"
await_provisioning = true
[credentials.claim]
)" + claim + R"(
[connections.cloud]
type = "mqtt"
endpoint = "localhost"
credentials = "prod"
[sources.provisioning]
type = "fleet_provisioning"
credentials = "prod"
claim_credentials = "claim"
connection = "cloud"
endpoint = "localhost"
[[pipelines]]
name = "rotation-report"
from = "provisioning"
to = ["cloud:amr/${thing}/certificate/rotated"]
)" + extra);
    return d;
}

class FactoryTest : public testing::Test {
protected:
    Result iotgw(const std::vector<std::string>& args) {
        std::vector<std::string> all{IOTGW_BINARY};
        all.insert(all.end(), args.begin(), args.end());
        all.push_back("--plugin-dir");
        all.push_back(build_plugin_dir().string());
        return run(all, tmp.path() / ("log." + std::to_string(++runs)));
    }
    Result claim_csr(const Device& d, const fs::path& out) {
        return iotgw({"factory", "claim-csr", "--config", d.config().string(), "--out", out.string()});
    }
    Result claim_install(const Device& d, const fs::path& cert) {
        return iotgw({"factory", "claim-install", "--config", d.config().string(), "--cert", cert.string()});
    }
    Result localcore(const std::vector<std::string>& args) {
        std::vector<std::string> all{LOCALCORE_BINARY, "--data", (tmp.path() / "localcore").string()};
        all.insert(all.end(), args.begin(), args.end());
        return run(all, tmp.path() / ("log." + std::to_string(++runs)));
    }
    Result claim_certs(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
        std::vector<std::string> all{(source_dir() / "scripts" / "claim-certs").string()};
        all.insert(all.end(), args.begin(), args.end());
        std::vector<std::string> e{"LOCALCORE=" + std::string(LOCALCORE_BINARY)};
        e.insert(e.end(), env.begin(), env.end());
        return run(all, tmp.path() / ("log." + std::to_string(++runs)), e);
    }
    Result claim_certs_localcore(const fs::path& csv) {
        return claim_certs({"--csv", csv.string(), "--csr-dir", csr_dir().string(), "--out-dir",
                            cert_dir().string(), "--localcore", (tmp.path() / "localcore").string()});
    }
    void init_localcore() {
        const Result r =
            run({LOCALCORE_BINARY, "init", (tmp.path() / "localcore").string()}, tmp.path() / "log.init");
        ASSERT_EQ(r.exit_code, 0) << r.output;
    }
    // Lines of `localcore list certs` naming `cn`.
    size_t registered_claim_certs(const std::string& cn) {
        const Result r = localcore({"list", "certs"});
        EXPECT_EQ(r.exit_code, 0) << r.output;
        size_t n = 0;
        std::istringstream lines(r.output);
        for (std::string line; std::getline(lines, line);)
            if (has(line, "cn=" + cn + " ")) ++n;
        return n;
    }
    fs::path csr_dir() const { return tmp.path() / "csrs"; }
    fs::path cert_dir() const { return tmp.path() / "certs"; }

    TempDir tmp;
    int runs = 0;
};

TEST_F(FactoryTest, ABatchOfThreeDevicesFromACsvGetsTheirOwnClaimCertificatesAndARerunChangesNothing) {
    init_localcore();
    fs::create_directories(csr_dir());
    const std::vector<std::string> serials{"AMR-001", "AMR-002", "AMR-003"};
    std::vector<Device> devices;
    for (const auto& s : serials) devices.push_back(make_device(tmp, s));
    const fs::path csv = tmp.write("serials.csv", "serial\nAMR-001\nAMR-002\nAMR-003\n");

    for (const auto& d : devices) {
        const Result r = claim_csr(d, csr_dir() / (d.serial + ".csr"));
        ASSERT_EQ(r.exit_code, 0) << r.output;
        EXPECT_THAT(r.output, HasSubstr("made the claim key")) << r.output;
        EXPECT_EQ(state_of(d.pending_key()).mode, 0600u);
        EXPECT_FALSE(fs::exists(d.claim_key()));
    }
    Result batch = claim_certs_localcore(csv);
    ASSERT_EQ(batch.exit_code, 0) << batch.output;
    EXPECT_THAT(batch.output, HasSubstr("3 serial(s): 3 done, 0 failed")) << batch.output;
    for (const auto& d : devices) {
        const Result r = claim_install(d, cert_dir() / (d.serial + ".pem"));
        ASSERT_EQ(r.exit_code, 0) << r.output;
        EXPECT_THAT(r.output, HasSubstr("installed the claim certificate for " + d.serial)) << r.output;
        const CertCheck c = check_cert(d.claim_cert(), d.claim_key());
        EXPECT_EQ(c.cn, d.serial);
        EXPECT_TRUE(c.matches_key) << d.serial;
        EXPECT_EQ(state_of(d.claim_key()).mode, 0600u);
        EXPECT_FALSE(fs::exists(d.pending_key()));
        EXPECT_EQ(registered_claim_certs(d.serial), 1u);
        // The gateway accepts what was installed.
        const Result check = iotgw({"check", "--config", d.config().string()});
        EXPECT_EQ(check.exit_code, 0) << check.output;
    }

    // The whole factory step again: nothing new anywhere.
    std::map<std::string, FileState> keys;
    for (const auto& d : devices) keys[d.serial] = state_of(d.claim_key());
    for (const auto& d : devices) {
        const Result r = claim_csr(d, tmp.path() / "again.csr");
        ASSERT_EQ(r.exit_code, 0) << r.output;
        EXPECT_THAT(r.output, HasSubstr("already installed")) << r.output;
        EXPECT_FALSE(fs::exists(d.pending_key()));
    }
    batch = claim_certs_localcore(csv);
    ASSERT_EQ(batch.exit_code, 0) << batch.output;
    for (const auto& d : devices) {
        const Result r = claim_install(d, cert_dir() / (d.serial + ".pem"));
        ASSERT_EQ(r.exit_code, 0) << r.output;
        EXPECT_THAT(r.output, HasSubstr("already installed")) << r.output;
        EXPECT_EQ(state_of(d.claim_key()), keys[d.serial]) << d.serial << ": the claim key was touched";
        EXPECT_EQ(registered_claim_certs(d.serial), 1u) << d.serial << ": a second identity was registered";
    }
}

TEST_F(FactoryTest, ASecondClaimCsrReusesThePendingKeyAndPrintsTheSameRequest) {
    init_localcore();
    fs::create_directories(csr_dir());
    const Device d = make_device(tmp, "AMR-001");
    ASSERT_EQ(claim_csr(d, csr_dir() / "AMR-001.csr").exit_code, 0);
    const FileState key = state_of(d.pending_key());
    ASSERT_FALSE(key.bytes.empty());

    const Result again = claim_csr(d, tmp.path() / "again.csr");
    ASSERT_EQ(again.exit_code, 0) << again.output;
    EXPECT_THAT(again.output, HasSubstr("reusing the pending claim key")) << again.output;
    EXPECT_EQ(read(tmp.path() / "again.csr"), read(csr_dir() / "AMR-001.csr"));
    EXPECT_EQ(state_of(d.pending_key()), key) << "the pending key was overwritten";

    // The same request through the workstation twice (the first certificate file lost in
    // between): localcore issues for the same key again, no second registry entry.
    const fs::path csv = tmp.write("serials.csv", "serial\nAMR-001\n");
    ASSERT_EQ(claim_certs_localcore(csv).exit_code, 0);
    fs::remove(cert_dir() / "AMR-001.pem");
    const Result batch = claim_certs_localcore(csv);
    ASSERT_EQ(batch.exit_code, 0) << batch.output;
    EXPECT_EQ(registered_claim_certs("AMR-001"), 1u);
    ASSERT_EQ(claim_install(d, cert_dir() / "AMR-001.pem").exit_code, 0);
    EXPECT_EQ(read(d.claim_key()), key.bytes) << "the installed key is not the one made first";
}

// A leftover "<out>.tmp" (an earlier crash, or planted by someone who can write the directory) is
// replaced, never written through: neither a symlink nor a hard link there receives the request.
TEST_F(FactoryTest, ALeftoverLinkAtTheTemporaryNameIsReplacedNotWrittenThrough) {
    init_localcore();
    fs::create_directories(csr_dir());
    const Device d = make_device(tmp, "AMR-001");
    const fs::path victim = tmp.write("victim.txt", "keep me\n");
    const fs::path linked = tmp.write("linked.txt", "keep me too\n");
    fs::create_symlink(victim, csr_dir() / "AMR-001.csr.tmp");
    fs::create_hard_link(linked, csr_dir() / "again.csr.tmp");

    const Result r = claim_csr(d, csr_dir() / "AMR-001.csr");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(read(victim), "keep me\n") << "the request was written through the symlink";
    EXPECT_THAT(read(csr_dir() / "AMR-001.csr"), HasSubstr("BEGIN CERTIFICATE REQUEST"));

    const Result again = claim_csr(d, csr_dir() / "again.csr");
    ASSERT_EQ(again.exit_code, 0) << again.output;
    EXPECT_EQ(read(linked), "keep me too\n") << "the request was written through the hard link";
    EXPECT_EQ(read(csr_dir() / "again.csr"), read(csr_dir() / "AMR-001.csr"));
}

TEST_F(FactoryTest, APendingKeyWithoutItsRequestIsNeverOverwritten) {
    const Device d = make_device(tmp, "AMR-001");
    ASSERT_EQ(claim_csr(d, tmp.path() / "first.csr").exit_code, 0);
    fs::remove(d.dir / "claim" / "key.pem.pending.csr");  // as if claim-csr had stopped right after the key
    const FileState key = state_of(d.pending_key());

    const Result r = claim_csr(d, tmp.path() / "second.csr");
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_THAT(r.output, HasSubstr("it is not overwritten")) << r.output;
    EXPECT_EQ(state_of(d.pending_key()), key);
    EXPECT_FALSE(fs::exists(tmp.path() / "second.csr"));

    // A kept request for another key (same CN) is refused too.
    const Device other = make_device(tmp, "AMR-001-other");
    tmp.write("devices/AMR-001-other/gw.toml",
              std::regex_replace(read(other.config()), std::regex("AMR-001-other"), "AMR-001"));
    ASSERT_EQ(claim_csr(other, tmp.path() / "other.csr").exit_code, 0);
    fs::copy_file(other.dir / "claim" / "key.pem.pending.csr", d.dir / "claim" / "key.pem.pending.csr");
    const Result foreign = claim_csr(d, tmp.path() / "third.csr");
    EXPECT_EQ(foreign.exit_code, 1) << foreign.output;
    EXPECT_THAT(foreign.output, HasSubstr("does not belong to the pending key")) << foreign.output;
    EXPECT_EQ(state_of(d.pending_key()), key);
    EXPECT_FALSE(fs::exists(tmp.path() / "third.csr"));
}

TEST_F(FactoryTest, ACertificateForAnotherKeyOrAnotherThingIsRefusedAndNothingIsInstalled) {
    const Device d = make_device(tmp, "AMR-001");
    ASSERT_EQ(claim_csr(d, tmp.path() / "AMR-001.csr").exit_code, 0);
    const fs::path pki = tmp.path() / "pki";
    for (const std::vector<std::string>& args :
         std::vector<std::vector<std::string>>{{IOTGW_DEV_PKI, "init", pki.string()},
                                               {IOTGW_DEV_PKI, "device", pki.string(), "AMR-001"},
                                               {IOTGW_DEV_PKI, "device", pki.string(), "AMR-002"}}) {
        const Result r = run(args, tmp.path() / "log.pki");
        ASSERT_EQ(r.exit_code, 0) << r.output;
    }
    const FileState key = state_of(d.pending_key());

    Result r = claim_install(d, pki / "AMR-001.pem");  // the right CN, another key
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_THAT(r.output, HasSubstr("does not belong to the pending key")) << r.output;

    r = claim_install(d, pki / "AMR-002.pem");  // another device's certificate
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_THAT(r.output, HasSubstr("is a certificate for 'AMR-002', not for the thing 'AMR-001'"))
        << r.output;

    EXPECT_FALSE(fs::exists(d.claim_cert()));
    EXPECT_FALSE(fs::exists(d.claim_key()));
    EXPECT_FALSE(fs::exists(d.dir / "claim" / "cert.pem.pending"));
    EXPECT_EQ(state_of(d.pending_key()), key);
}

TEST_F(FactoryTest, RunAsRootTheClaimFilesBelongToTheOwnerOfTheirDirectory) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: the factory step switches to the directory's owner";
    constexpr uid_t kUser = 65534;  // nobody: stands in for the gateway's user `iotgw`
    constexpr gid_t kGroup = 65534;
    init_localcore();
    fs::create_directories(csr_dir());
    const Device d = make_device(tmp, "AMR-001");
    for (const fs::path& p : {tmp.path(), tmp.path() / "devices", d.dir})
        fs::permissions(p, fs::perms::others_exec, fs::perm_options::add);
    ASSERT_EQ(::chown((d.dir / "claim").c_str(), kUser, kGroup), 0);

    const Result made = claim_csr(d, csr_dir() / "AMR-001.csr");
    ASSERT_EQ(made.exit_code, 0) << made.output;
    struct stat st {};
    ASSERT_EQ(::stat(d.pending_key().c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, kUser);
    EXPECT_EQ(st.st_gid, kGroup);
    ASSERT_EQ(claim_certs_localcore(tmp.write("serials.csv", "serial\nAMR-001\n")).exit_code, 0);
    const Result installed = claim_install(d, cert_dir() / "AMR-001.pem");
    ASSERT_EQ(installed.exit_code, 0) << installed.output;
    for (const fs::path& p : {d.claim_key(), d.claim_cert()}) {
        ASSERT_EQ(::stat(p.c_str(), &st), 0) << p;
        EXPECT_EQ(st.st_uid, kUser) << p;
        EXPECT_EQ(st.st_gid, kGroup) << p;
    }
    EXPECT_EQ(state_of(d.claim_key()).mode, 0600u);
    EXPECT_EQ(state_of(d.claim_cert()).mode, 0644u);
    // The request handed out was written by the operator (root), where they asked for it.
    ASSERT_EQ(::stat((csr_dir() / "AMR-001.csr").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 0u);
}

// The claim key generated on a PKCS#11 token (SoftHSM2): only a reference to it is on disk.
TEST_F(FactoryTest, WithPkcs11TheClaimKeyIsMadeOnTheTokenAndARerunReusesIt) {
    const fs::path module = "/usr/lib/softhsm/libsofthsm2.so";
    if (!fs::exists(module) || !fs::exists("/usr/bin/softhsm2-util"))
        GTEST_SKIP() << "SoftHSM2 is not installed (apt-get install softhsm2)";
#if defined(__SANITIZE_ADDRESS__)
    // The PKCS#11 module is loaded with RTLD_DEEPBIND, which AddressSanitizer's runtime refuses
    // (it aborts the iotgw process); the release build runs this test.
    GTEST_SKIP() << "a PKCS#11 module cannot be loaded under AddressSanitizer (RTLD_DEEPBIND)";
#endif
    const fs::path hsm = tmp.path() / "softhsm";
    fs::create_directories(hsm / "tokens");
    const fs::path conf =
        tmp.write("softhsm/softhsm2.conf", "directories.tokendir = " + (hsm / "tokens").string() +
                                               "\nobjectstore.backend = file\nlog.level = ERROR\n");
    const fs::path pin = tmp.write("softhsm/pin", "24681357\n");
    fs::permissions(pin, fs::perms::owner_read | fs::perms::owner_write);
    const std::vector<std::string> env{"SOFTHSM2_CONF=" + conf.string()};
    const Result token = run({"/usr/bin/softhsm2-util", "--init-token", "--free", "--label", "factory",
                              "--pin", "24681357", "--so-pin", "13572468"},
                             tmp.path() / "log.token", env);
    ASSERT_EQ(token.exit_code, 0) << token.output;
    init_localcore();
    fs::create_directories(csr_dir());
    const Device d =
        make_device(tmp, "AMR-001", "",
                    "type = \"pkcs11\"\ncert = \"claim/cert.pem\"\nkey = \"claim/key.pem\"\n"
                    "module = \"" +
                        module.string() + "\"\ntoken = \"factory\"\npin_file = \"" + pin.string() + "\"\n");
    auto factory = [&](const std::vector<std::string>& args) {
        std::vector<std::string> all{IOTGW_BINARY, "factory"};
        all.insert(all.end(), args.begin(), args.end());
        all.insert(all.end(), {"--config", d.config().string(), "--plugin-dir", build_plugin_dir().string()});
        return run(all, tmp.path() / ("log." + std::to_string(++runs)), env);
    };

    const Result made = factory({"claim-csr", "--out", (csr_dir() / "AMR-001.csr").string()});
    ASSERT_EQ(made.exit_code, 0) << made.output;
    const FileState reference = state_of(d.pending_key());
    EXPECT_THAT(reference.bytes, HasSubstr("PKCS#11")) << reference.bytes;
    EXPECT_THAT(reference.bytes, testing::Not(HasSubstr("PRIVATE KEY"))) << "the key left the token";

    // A kept request that is not this key's (here: a file-key device's) is refused, never reprinted.
    const fs::path kept = d.dir / "claim" / "key.pem.pending.csr";
    const std::string kept_bytes = read(kept);
    TempDir other_tmp;
    const Device other = make_device(other_tmp, "AMR-001");
    ASSERT_EQ(claim_csr(other, other_tmp.path() / "other.csr").exit_code, 0);
    fs::copy_file(other.dir / "claim" / "key.pem.pending.csr", kept, fs::copy_options::overwrite_existing);
    const Result foreign = factory({"claim-csr", "--out", (tmp.path() / "foreign.csr").string()});
    EXPECT_EQ(foreign.exit_code, 1) << foreign.output;
    EXPECT_THAT(foreign.output, HasSubstr("does not belong to the pending key")) << foreign.output;
    tmp.write("devices/AMR-001/claim/key.pem.pending.csr", kept_bytes);

    const Result again = factory({"claim-csr", "--out", (tmp.path() / "again.csr").string()});
    ASSERT_EQ(again.exit_code, 0) << again.output;
    EXPECT_THAT(again.output, HasSubstr("reusing the pending claim key")) << again.output;
    EXPECT_EQ(read(tmp.path() / "again.csr"), read(csr_dir() / "AMR-001.csr"));
    EXPECT_EQ(state_of(d.pending_key()), reference);

    ASSERT_EQ(claim_certs_localcore(tmp.write("serials.csv", "serial\nAMR-001\n")).exit_code, 0);
    const Result installed = factory({"claim-install", "--cert", (cert_dir() / "AMR-001.pem").string()});
    ASSERT_EQ(installed.exit_code, 0) << installed.output;
    EXPECT_EQ(read(d.claim_key()), reference.bytes);
    const Result repeat = factory({"claim-install", "--cert", (cert_dir() / "AMR-001.pem").string()});
    EXPECT_EQ(repeat.exit_code, 0) << repeat.output;
    EXPECT_THAT(repeat.output, HasSubstr("already installed")) << repeat.output;
}

TEST_F(FactoryTest, ABadConfigIsRefusedWithFileAndLineBeforeAnyKeyIsMade) {
    const Device d = make_device(tmp, "AMR-001", "bogus_key = 1\n");
    const Result r = claim_csr(d, tmp.path() / "AMR-001.csr");
    EXPECT_EQ(r.exit_code, 78) << r.output;
    EXPECT_THAT(r.output, HasSubstr("gw.toml:")) << r.output;
    EXPECT_THAT(r.output, HasSubstr("bogus_key")) << r.output;
    EXPECT_FALSE(fs::exists(d.pending_key()));
    EXPECT_FALSE(fs::exists(tmp.path() / "AMR-001.csr"));
}

TEST_F(FactoryTest, AMalformedCsvIsRefusedWithFileAndLineAndNothingIsIssued) {
    init_localcore();
    fs::create_directories(csr_dir());
    const fs::path csv = tmp.write("serials.csv", "serial\nAMR-001\nAMR 002\nAMR-001\n");
    const Result r = claim_certs_localcore(csv);
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_THAT(r.output, HasSubstr("serials.csv:3: 'AMR 002' is not a serial")) << r.output;
    EXPECT_THAT(r.output, HasSubstr("serials.csv:4: serial 'AMR-001' is listed twice")) << r.output;
    EXPECT_FALSE(fs::exists(cert_dir() / "AMR-001.pem"));

    const Result header = claim_certs_localcore(tmp.write("nohead.csv", "AMR-001\n"));
    EXPECT_EQ(header.exit_code, 2) << header.output;
    EXPECT_THAT(header.output, HasSubstr("nohead.csv:1:")) << header.output;
}

TEST_F(FactoryTest, ARequestNamingAnotherSerialFailsThatSerialOnly) {
    init_localcore();
    fs::create_directories(csr_dir());
    const Device a = make_device(tmp, "AMR-001");
    const Device b = make_device(tmp, "AMR-002");
    ASSERT_EQ(claim_csr(a, csr_dir() / "AMR-001.csr").exit_code, 0);
    ASSERT_EQ(claim_csr(b, csr_dir() / "AMR-003.csr").exit_code, 0);  // filed under the wrong serial
    const Result r = claim_certs_localcore(tmp.write("serials.csv", "serial\nAMR-001\nAMR-003\n"));
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_THAT(r.output, HasSubstr("names 'AMR-002', not the serial 'AMR-003'")) << r.output;
    EXPECT_THAT(r.output, HasSubstr("2 serial(s): 1 done, 1 failed (AMR-003)")) << r.output;
    EXPECT_TRUE(fs::exists(cert_dir() / "AMR-001.pem"));
    EXPECT_FALSE(fs::exists(cert_dir() / "AMR-003.pem"));
    EXPECT_EQ(registered_claim_certs("AMR-002"), 0u);
}

TEST_F(FactoryTest, TheAwsPathRegistersEachRequestOnceAttachesTheClaimPolicyAndRecordsTheCertificate) {
    fs::create_directories(csr_dir());
    const fs::path state = tmp.path() / "aws-state";
    const fs::path bin = tmp.path() / "bin";
    fs::create_directories(state);
    fs::create_directories(bin);
    // A stand-in for the AWS CLI (tests/factory/aws-stub): records every call, signs with a local CA.
    fs::copy_file(source_dir() / "tests" / "factory" / "aws-stub", bin / "aws");
    fs::permissions(bin / "aws", fs::perms::owner_all);
    const Result ca = run({IOTGW_DEV_PKI, "init", state.string()}, tmp.path() / "log.pki");  // the stub's CA
    ASSERT_EQ(ca.exit_code, 0) << ca.output;
    std::vector<Device> devices;
    for (const char* s : {"AMR-001", "AMR-002", "AMR-003"}) {
        devices.push_back(make_device(tmp, s));
        ASSERT_EQ(claim_csr(devices.back(), csr_dir() / (std::string(s) + ".csr")).exit_code, 0);
    }
    const fs::path csv = tmp.write("serials.csv", "serial\r\nAMR-001\r\nAMR-002\r\nAMR-003\r\n");
    const std::vector<std::string> env{"PATH=" + bin.string() + ":" + std::string(std::getenv("PATH")),
                                       "AWS_STUB_STATE=" + state.string()};
    auto batch = [&] {
        return claim_certs({"--csv", csv.string(), "--csr-dir", csr_dir().string(), "--out-dir",
                            cert_dir().string(), "--aws", "--policy", "claim"},
                           env);
    };
    auto calls = [&](const std::string& op) {
        std::istringstream lines(read(state / "calls"));
        size_t n = 0;
        for (std::string line; std::getline(lines, line);)
            if (line.rfind("iot " + op + " ", 0) == 0) ++n;
        return n;
    };

    Result r = batch();
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_THAT(r.output, HasSubstr("3 serial(s): 3 done, 0 failed")) << r.output;
    EXPECT_EQ(calls("create-certificate-from-csr"), 3u);
    EXPECT_EQ(calls("attach-policy"), 3u);
    EXPECT_THAT(read(state / "calls"), HasSubstr("--set-as-active"));
    EXPECT_THAT(read(state / "calls"), HasSubstr("attach-policy --policy-name claim --target arn:aws:iot:"));
    for (const auto& d : devices) {
        const std::string record = read(cert_dir() / (d.serial + ".json"));
        EXPECT_THAT(record, HasSubstr("\"serial\": \"" + d.serial + "\"")) << record;
        EXPECT_THAT(record, HasSubstr("\"certificateArn\": \"arn:aws:iot:")) << record;
        ASSERT_EQ(claim_install(d, cert_dir() / (d.serial + ".pem")).exit_code, 0);
        EXPECT_EQ(check_cert(d.claim_cert(), d.claim_key()).cn, d.serial);
    }

    // Again: every recorded certificate still exists, so nothing is registered a second time.
    r = batch();
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(calls("create-certificate-from-csr"), 3u) << r.output;

    // A recorded certificate that was deleted in AWS IoT is registered again, for that serial only.
    const std::string record = read(cert_dir() / "AMR-002.json");
    const auto at = record.find("\"certificateId\": \"") + 18;
    fs::remove(state / (record.substr(at, 64) + ".pem"));
    r = batch();
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_THAT(r.output, HasSubstr("AMR-002: the recorded certificate")) << r.output;
    EXPECT_EQ(calls("create-certificate-from-csr"), 4u) << r.output;
    EXPECT_NE(read(cert_dir() / "AMR-002.json"), record);
}

}  // namespace
}  // namespace iotgw::test
