// The `localcore` binary end to end, run as a child process on a temporary data directory.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "atomic_file.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;
using iotgw::test::TempDir;
using ::testing::HasSubstr;
using ::testing::StartsWith;

struct Result {
    int status = -1;
    std::string out;
    std::string err;
};

class LocalcoreCli : public ::testing::Test {
protected:
    // Runs `localcore --data DATA args...`; the child's output goes to files so no pipe can fill.
    Result run(std::vector<std::string> args, bool with_data = true) {
        if (with_data) args.insert(args.begin(), {"--data", data_.string()});
        args.insert(args.begin(), LOCALCORE_BINARY);
        const auto out_path = root_ / "stdout", err_path = root_ / "stderr";
        const pid_t pid = ::fork();
        if (pid == 0) {
            const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            ::dup2(out, 1);
            ::dup2(err, 2);
            ::unsetenv("LOCALCORE_DATA");
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        int wstatus = 0;
        ::waitpid(pid, &wstatus, 0);
        Result r;
        r.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
        r.out = localcore::read_file(out_path);
        r.err = localcore::read_file(err_path);
        return r;
    }

    Result ok(std::vector<std::string> args) {
        auto r = run(std::move(args));
        EXPECT_EQ(r.status, 0) << r.err;
        EXPECT_EQ(r.err, "");
        return r;
    }

    // Exactly one line "localcore: <what>; <what to do>" and the given exit status.
    void expect_failure(std::vector<std::string> args, int status, const std::string& message) {
        auto r = run(std::move(args));
        EXPECT_EQ(r.status, status) << r.err;
        EXPECT_EQ(r.err, "localcore: " + message + "\n");
        EXPECT_EQ(r.out, "");
    }

    std::string init_and_issue(const std::string& thing, const std::string& prefix) {
        ok({"init"});
        ok({"create-thing", thing});
        auto r = ok({"issue-cert", "--thing", thing, "--out", (root_ / prefix).string()});
        EXPECT_EQ(r.out.size(), 65u) << r.out;  // 64 hex + newline
        return r.out.substr(0, 64);
    }

    TempDir tmp_;
    const fs::path root_ = tmp_.path();
    const fs::path data_ = root_ / "data";
};

TEST_F(LocalcoreCli, IssueListDescribeAndDeactivate) {
    auto init = ok({"init"});
    EXPECT_THAT(init.out, HasSubstr("policies: claim console device"));
    ok({"create-thing", "AMR-001"});
    const auto id =
        ok({"issue-cert", "--thing", "AMR-001", "--lifetime", "10m", "--out", (root_ / "amr1").string()})
            .out.substr(0, 64);
    EXPECT_EQ(fs::status(root_ / "amr1.key").permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write);
    EXPECT_TRUE(fs::exists(root_ / "amr1.pem"));

    EXPECT_EQ(ok({"list", "things"}).out, "AMR-001\n");
    EXPECT_EQ(ok({"list", "policies"}).out, "claim\nconsole\ndevice\n");
    const auto certs = ok({"list", "certs"}).out;
    EXPECT_THAT(certs, StartsWith(id + " ACTIVE cn=AMR-001 "));
    EXPECT_THAT(certs, HasSubstr("things=AMR-001 policies=device"));
    EXPECT_THAT(ok({"describe", "thing", "AMR-001"}).out, HasSubstr("certificate: " + id + " ACTIVE"));

    EXPECT_EQ(ok({"set-cert-status", id.substr(0, 8), "INACTIVE"}).out, id + " INACTIVE\n");
    const auto described = ok({"describe", "cert", id.substr(0, 12)}).out;
    EXPECT_THAT(described, HasSubstr("id: " + id + "\n"));
    EXPECT_THAT(described, HasSubstr("status: INACTIVE\n"));
    EXPECT_THAT(described, HasSubstr("things: AMR-001\n"));
    EXPECT_THAT(described, HasSubstr("policies: device\n"));

    ok({"set-cert-status", id, "REVOKED"});
    expect_failure(
        {"set-cert-status", id, "ACTIVE"}, 1,
        "certificate " + id + " is REVOKED and revocation is permanent; issue a new certificate instead");
}

TEST_F(LocalcoreCli, ClaimCertAndPolicies) {
    ok({"init"});
    const auto id =
        ok({"issue-claim-cert", "--thing", "AMR-001", "--out", (root_ / "claim").string()}).out.substr(0, 64);
    const auto described = ok({"describe", "cert", id}).out;
    EXPECT_THAT(described, HasSubstr("subject_cn: AMR-001\n"));
    EXPECT_THAT(described, HasSubstr("things: -\n"));
    EXPECT_THAT(described, HasSubstr("policies: claim\n"));

    std::ofstream(root_ / "extra.json") << R"({"Version":"2012-10-17","Statement":[]})";
    EXPECT_EQ(ok({"put-policy", "extra", (root_ / "extra.json").string()}).out, "stored policy extra\n");
    ok({"attach-policy", id.substr(0, 10), "extra"});
    EXPECT_THAT(ok({"describe", "cert", id}).out, HasSubstr("policies: claim,extra\n"));
    expect_failure({"attach-policy", id, "nope"}, 1,
                   "policy 'nope' does not exist; add it with `localcore put-policy nope FILE`");
}

// Per-device claim certificates: CN = the thing name, 20 years, the claim policy; one identity per
// device however often the factory step runs.
TEST_F(LocalcoreCli, ClaimCertPerDeviceIsIdempotentForTheSameKey) {
    ok({"init"});
    const std::string prefix = (root_ / "AMR-001-claim").string();
    const auto id = ok({"issue-claim-cert", "--thing", "AMR-001", "--out", prefix}).out;
    ASSERT_EQ(id.size(), 65u) << id;
    const auto described = ok({"describe", "cert", id.substr(0, 64)}).out;
    EXPECT_THAT(described, HasSubstr("subject_cn: AMR-001\n"));
    EXPECT_THAT(described, HasSubstr("policies: claim\n"));
    EXPECT_THAT(described, HasSubstr("not_after: 20"));
    const auto key = localcore::read_file(prefix + ".key");
    EXPECT_EQ(fs::status(prefix + ".key").permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write);

    // Re-run: the key in place is reused, the same certificate comes back, nothing new registered.
    EXPECT_EQ(ok({"issue-claim-cert", "--thing", "AMR-001", "--out", prefix}).out, id);
    fs::remove(prefix + ".pem");  // a lost certificate file is written again
    EXPECT_EQ(ok({"issue-claim-cert", "--thing", "AMR-001", "--out", prefix}).out, id);
    EXPECT_EQ(localcore::read_file(prefix + ".key"), key);
    EXPECT_TRUE(fs::exists(prefix + ".pem"));
    std::istringstream certs(ok({"list", "certs"}).out);
    int lines = 0;
    for (std::string line; std::getline(certs, line);) ++lines;
    EXPECT_EQ(lines, 1);

    // A second device gets its own certificate.
    const auto other =
        ok({"issue-claim-cert", "--thing", "AMR-002", "--out", (root_ / "AMR-002-claim").string()}).out;
    EXPECT_NE(other, id);
}

TEST_F(LocalcoreCli, ClaimCertWithAnotherKeyIsRefusedUnlessReplaced) {
    ok({"init"});
    const auto id =
        ok({"issue-claim-cert", "--thing", "AMR-001", "--out", (root_ / "first").string()}).out.substr(0, 64);
    expect_failure(
        {"issue-claim-cert", "--thing", "AMR-001", "--out", (root_ / "second").string()}, 1,
        "thing AMR-001 already has claim certificate " + id +
            " for another key; pass --replace to revoke it and issue a new one (the device must then "
            "use the new key)");
    EXPECT_FALSE(fs::exists(root_ / "second.key"));  // nothing left behind

    const auto replaced =
        run({"issue-claim-cert", "--thing", "AMR-001", "--out", (root_ / "second").string(), "--replace"});
    ASSERT_EQ(replaced.status, 0) << replaced.err;
    EXPECT_THAT(replaced.err, HasSubstr("revoked the previous claim certificate " + id));
    EXPECT_NE(replaced.out.substr(0, 64), id);
    EXPECT_THAT(ok({"describe", "cert", id}).out, HasSubstr("status: REVOKED\n"));
}

TEST_F(LocalcoreCli, ClaimCertFromADeviceCsr) {
    if (std::system("command -v openssl >/dev/null 2>&1") != 0) GTEST_SKIP() << "no openssl binary";
    ok({"init"});
    const auto key = root_ / "device.key", csr = root_ / "device.csr";
    const std::string make_csr =
        "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + key.string() +
        " -subj /CN=AMR-003 -out " + csr.string() + " 2>/dev/null";
    ASSERT_EQ(std::system(make_csr.c_str()), 0);

    expect_failure(
        {"issue-claim-cert", "--thing", "AMR-002", "--csr", csr.string(), "--out", (root_ / "x").string()}, 1,
        "the CSR " + csr.string() +
            " names CN 'AMR-003', not 'AMR-002'; make the CSR on the device with subject CN=AMR-002");
    EXPECT_FALSE(fs::exists(root_ / "x.pem"));

    const std::string out = (root_ / "AMR-003-claim").string();
    const auto id = ok({"issue-claim-cert", "--thing", "AMR-003", "--csr", csr.string(), "--out", out}).out;
    EXPECT_FALSE(fs::exists(out + ".key"));  // the key stays on the device
    const std::string verify = "openssl verify -CAfile " + (data_ / "ca" / "ca.pem").string() + " " + out +
                               ".pem >/dev/null 2>&1 && openssl x509 -noout -pubkey -in " + out + ".pem > " +
                               (root_ / "a.pub").string() + " && openssl pkey -pubout -in " + key.string() +
                               " > " + (root_ / "b.pub").string();
    ASSERT_EQ(std::system(verify.c_str()), 0);
    EXPECT_EQ(localcore::read_file(root_ / "a.pub"), localcore::read_file(root_ / "b.pub"));
    // The same CSR again: the same certificate.
    EXPECT_EQ(ok({"issue-claim-cert", "--thing", "AMR-003", "--csr", csr.string(), "--out", out}).out, id);
}

TEST_F(LocalcoreCli, ClaimCertModeMustBeExplicit) {
    ok({"init"});
    expect_failure(
        {"issue-claim-cert", "--out", (root_ / "c").string()}, 2,
        "issue-claim-cert needs either --thing NAME (a claim certificate for that one device) or "
        "--fleet-wide (the weaker mode: one certificate for many devices); see `localcore --help`");
    expect_failure({"issue-claim-cert", "--thing", "AMR-001", "--cn", "x", "--out", (root_ / "c").string()},
                   2, "--cn is only for --fleet-wide; a per-device claim certificate's CN is --thing NAME");
    const auto fleet = run({"issue-claim-cert", "--fleet-wide", "--out", (root_ / "fleet").string()});
    EXPECT_EQ(fleet.status, 0) << fleet.err;
    EXPECT_THAT(fleet.err, HasSubstr("warning: a fleet-wide claim certificate is the weaker mode"));
    EXPECT_THAT(ok({"describe", "cert", fleet.out.substr(0, 64)}).out,
                HasSubstr("subject_cn: localcore-claim\n"));
}

TEST_F(LocalcoreCli, LockAndUnlockThing) {
    ok({"init"});
    ok({"create-thing", "AMR-001"});
    EXPECT_THAT(ok({"lock-thing", "--thing", "AMR-001"}).out, StartsWith("locked thing AMR-001"));
    EXPECT_THAT(ok({"describe", "thing", "AMR-001"}).out, HasSubstr("attribute locked: true\n"));
    EXPECT_THAT(ok({"unlock-thing", "--thing", "AMR-001"}).out, StartsWith("unlocked thing AMR-001"));
    EXPECT_THAT(ok({"describe", "thing", "AMR-001"}).out, HasSubstr("attribute locked: false\n"));
    expect_failure({"lock-thing", "--thing", "AMR-404"}, 1,
                   "thing 'AMR-404' does not exist; create it with `localcore create-thing AMR-404`");
    expect_failure({"lock-thing"}, 2, "lock-thing needs --thing; see `localcore --help`");
}

TEST_F(LocalcoreCli, IssuedCertVerifiesWithOpenssl) {
    if (std::system("command -v openssl >/dev/null 2>&1") != 0) GTEST_SKIP() << "no openssl binary";
    init_and_issue("AMR-002", "amr2");
    const std::string cmd = "openssl verify -CAfile " + (data_ / "ca" / "ca.pem").string() + " " +
                            (root_ / "amr2.pem").string() + " >/dev/null 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
    const std::string server = "openssl verify -purpose sslserver -CAfile " +
                               (data_ / "ca" / "ca.pem").string() + " " +
                               (data_ / "ca" / "server.pem").string() + " >/dev/null 2>&1";
    EXPECT_EQ(std::system(server.c_str()), 0);
}

TEST_F(LocalcoreCli, ErrorsAreOneLineWithWhatToDo) {
    expect_failure({"list", "things"}, 1,
                   "data directory " + data_.string() + " does not exist; create it with `localcore --data " +
                       data_.string() + " init`");
    ok({"init"});
    expect_failure({"init"}, 1,
                   data_.string() + " is already initialised; use it, or remove it to start over");
    expect_failure({"frobnicate"}, 2, "unknown command 'frobnicate'; see `localcore --help`");
    expect_failure({"create-thing"}, 2,
                   "create-thing takes 1 argument, got 0; usage: localcore --data DIR create-thing NAME");
    expect_failure({"create-thing", "bad/name"}, 1,
                   "invalid thing name 'bad/name'; use 1 to 128 characters from a-z A-Z 0-9 : _ -");
    expect_failure({"issue-cert", "--thing", "AMR-404", "--out", (root_ / "x").string()}, 1,
                   "thing 'AMR-404' does not exist; create it with `localcore create-thing AMR-404`");
    expect_failure({"issue-cert", "--out", (root_ / "x").string()}, 2,
                   "issue-cert needs --thing; see `localcore --help`");
    ok({"create-thing", "AMR-001"});
    expect_failure(
        {"issue-cert", "--thing", "AMR-001", "--lifetime", "5w", "--out", (root_ / "x").string()}, 1,
        "invalid lifetime '5w'; use a number followed by s, m, h, d or y (e.g. 30s, 10m, 12h, 30d, 1y, 20y)");
    expect_failure({"issue-cert", "--thing", "AMR-001", "--bogus", "1"}, 2,
                   "unknown option --bogus for issue-cert; see `localcore --help`");
    expect_failure({"set-cert-status", "1234567", "ACTIVE"}, 1,
                   "certificate id '1234567' is not an id or a prefix of at least 8 hex characters; "
                   "copy it from `localcore list certs`");
    expect_failure({"set-cert-status", "12345678", "ACTIVE"}, 1,
                   "no certificate id starts with 12345678; list them with `localcore list certs`");
    expect_failure({"set-cert-status", "12345678", "PENDING_ACTIVATION"}, 1,
                   "status PENDING_ACTIVATION cannot be set, only given when a certificate is issued; "
                   "use ACTIVE, INACTIVE or REVOKED");
    expect_failure({"set-cert-status", "12345678", "on"}, 1,
                   "unknown certificate status 'on'; use ACTIVE, INACTIVE, REVOKED or PENDING_ACTIVATION");
    expect_failure({"list", "widgets"}, 2, "cannot list 'widgets'; use things, certs or policies");
    expect_failure({"mosquitto-conf", "--port", "99999"}, 2,
                   "invalid --port '99999'; use a TCP port from 1 to 65535");

    // No files are left behind by a failed issue, and existing files are never overwritten.
    EXPECT_FALSE(fs::exists(root_ / "x.key"));
    std::ofstream(root_ / "taken.pem") << "keep";
    expect_failure(
        {"issue-cert", "--thing", "AMR-001", "--out", (root_ / "taken").string()}, 1,
        (root_ / "taken.pem").string() + " already exists; choose another --out or remove the file");
    EXPECT_FALSE(fs::exists(root_ / "taken.key"));

    auto none = run({"list", "things"}, /*with_data=*/false);
    EXPECT_EQ(none.status, 2);
    EXPECT_EQ(
        none.err,
        "localcore: no data directory given; pass --data DIR before the command or set LOCALCORE_DATA\n");
}

TEST_F(LocalcoreCli, CorruptRegistryIsNamed) {
    ok({"init"});
    std::ofstream(data_ / "registry.json", std::ios::trunc) << "{not json";
    auto r = run({"list", "things"});
    EXPECT_EQ(r.status, 1);
    EXPECT_THAT(r.err, StartsWith("localcore: registry file " + (data_ / "registry.json").string() +
                                  " is corrupt ("));
    EXPECT_THAT(r.err, HasSubstr("; restore it from a backup or move it away"));
}

TEST_F(LocalcoreCli, MosquittoConf) {
    ok({"init"});
    const auto conf = ok({"mosquitto-conf", "--port", "18883"}).out;
    std::istringstream lines(conf);
    std::set<std::string> settings;
    for (std::string line; std::getline(lines, line);)
        if (!line.empty() && line[0] != '#') settings.insert(line);
    const auto ca = fs::absolute(data_ / "ca");
    EXPECT_TRUE(settings.count("listener 18883 127.0.0.1")) << conf;
    EXPECT_TRUE(settings.count("cafile " + (ca / "ca.pem").string())) << conf;
    EXPECT_TRUE(settings.count("certfile " + (ca / "server.pem").string())) << conf;
    EXPECT_TRUE(settings.count("keyfile " + (ca / "server.key").string())) << conf;
    EXPECT_TRUE(settings.count("require_certificate true")) << conf;
    EXPECT_TRUE(settings.count("set_tcp_nodelay true")) << conf;
    EXPECT_TRUE(settings.count("persistence true")) << conf;
    for (const auto& s : settings) EXPECT_THAT(s, ::testing::Not(HasSubstr("use_identity_as_username")));
    EXPECT_TRUE(settings.count("max_qos 1")) << conf;
    EXPECT_TRUE(settings.count("plugin_opt_data_dir " + fs::absolute(data_).lexically_normal().string()))
        << conf;
    EXPECT_TRUE(settings.count("plugin_opt_mqtt311_unauthorized disconnect")) << conf;
    // The plugin found beside the command (build tree: bin/ -> lib/localcore/).
    std::string plugin;
    for (const auto& s : settings)
        if (s.starts_with("plugin ")) plugin = s.substr(7);
    EXPECT_THAT(plugin, ::testing::EndsWith("/localcore_mosquitto.so")) << conf;
    EXPECT_TRUE(fs::is_regular_file(plugin)) << plugin;
    EXPECT_TRUE(fs::is_directory(data_ / "mosquitto"));
}

TEST_F(LocalcoreCli, MosquittoConfRefusesAMissingPluginAndABadDenialMode) {
    ok({"init"});
    auto missing = run({"mosquitto-conf", "--plugin", (root_ / "nope.so").string()});
    EXPECT_EQ(missing.status, 1);
    EXPECT_THAT(missing.err, HasSubstr("localcore_mosquitto.so) was not found at"));
    EXPECT_EQ(missing.out, "");  // nothing half-printed
    auto bad = run({"mosquitto-conf", "--mqtt311-unauthorized", "ignore"});
    EXPECT_EQ(bad.status, 2);
    EXPECT_THAT(bad.err, HasSubstr("invalid --mqtt311-unauthorized 'ignore'"));
}

// The fleet simulator's setup (tests/fleet): N things with their certificates in one registry write.
TEST_F(LocalcoreCli, IssueBatchRegistersEveryThingWithItsCertificate) {
    ok({"init"});
    const auto out = root_ / "fleet";
    const auto r = ok({"issue-batch", "--prefix", "AMR-", "--count", "3", "--start", "9", "--out", out.string()});
    std::istringstream lines(r.out);
    std::vector<std::pair<std::string, std::string>> issued;
    for (std::string name, id; lines >> name >> id;) issued.emplace_back(name, id);
    ASSERT_EQ(issued.size(), 3u) << r.out;
    // Zero-padded to the width of the last number.
    EXPECT_EQ(issued[0].first, "AMR-09");
    EXPECT_EQ(issued[2].first, "AMR-11");
    EXPECT_EQ(ok({"list", "things"}).out, "AMR-09\nAMR-10\nAMR-11\n");
    for (const auto& [name, id] : issued) {
        EXPECT_EQ(id.size(), 64u);
        const auto described = ok({"describe", "cert", id}).out;
        EXPECT_THAT(described, HasSubstr("status: ACTIVE\n"));
        EXPECT_THAT(described, HasSubstr("things: " + name + "\n"));
        EXPECT_THAT(described, HasSubstr("policies: device\n"));
        EXPECT_EQ(fs::status(out / (name + ".key")).permissions() & fs::perms::all,
                  fs::perms::owner_read | fs::perms::owner_write);
        EXPECT_THAT(localcore::read_file(out / (name + ".pem")), StartsWith("-----BEGIN CERTIFICATE-----"));
    }
}

TEST_F(LocalcoreCli, IssueBatchRefusesAnExistingThingAndLeavesNothingBehind) {
    ok({"init"});
    ok({"create-thing", "AMR-2"});
    const auto out = root_ / "fleet";
    expect_failure({"issue-batch", "--prefix", "AMR-", "--count", "3", "--out", out.string()}, 1,
                   "thing 'AMR-2' already exists; choose another --prefix or --start");
    EXPECT_EQ(ok({"list", "things"}).out, "AMR-2\n");
    EXPECT_FALSE(fs::exists(out / "AMR-1.key"));
    expect_failure({"issue-batch", "--prefix", "AMR-", "--count", "0", "--out", out.string()}, 2,
                   "--count must be a whole number from 1 to 100000, not '0'");
    expect_failure({"issue-batch", "--prefix", "bad name ", "--count", "1", "--out", out.string()}, 1,
                   "invalid thing name 'bad name 1'; use 1 to 128 characters from a-z A-Z 0-9 : _ -");
}

TEST_F(LocalcoreCli, HelpListsEveryCommand) {
    auto r = run({"--help"}, false);
    EXPECT_EQ(r.status, 0);
    for (const char* cmd :
         {"init", "create-thing", "issue-cert", "issue-claim-cert", "issue-batch", "lock-thing", "unlock-thing",
          "put-policy", "attach-policy", "set-cert-status", "list", "describe", "mosquitto-conf"})
        EXPECT_THAT(r.out, HasSubstr(cmd));
}

}  // namespace
