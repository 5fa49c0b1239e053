// The root helper of a gateway update (Installer), with the real dpkg acting on a scratch root
// (dpkg --root) and packages built here with dpkg-deb: what the service can ask, what is
// installed, kept, confirmed and rolled back, and every refusal. Needs root (dpkg installs files
// owned by root), else skipped.
#include "test_support.hpp"
#include "update_test_keys.hpp"

#include <iotgw/core/package_document.hpp>
#include <iotgw/core/sha256.hpp>
#include <iotgw/core/update_installer.hpp>

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace iotgw::core::update {
namespace {

namespace fs = std::filesystem;
using testkeys::new_key;
using testkeys::PKey;

using iotgw::test::read_text_file;

class InstallerTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "dpkg --root installs files owned by root: run as root";
        for (const auto& d :
             {request_dir, work_dir, keys_dir, root / "var/lib/dpkg/updates", root / "var/lib/dpkg/info"})
            fs::create_directories(d);
        fs::permissions(keys_dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                      fs::perms::others_read | fs::perms::others_exec);
        std::ofstream(root / "var/lib/dpkg/status");
        testkeys::write_public_key(site.get(), keys_dir / "site.pem");
        paths.request_dir = request_dir.string();
        paths.work_dir = work_dir.string();
        paths.keys_dir = keys_dir.string();
        paths.dpkg_root = root.string();
    }

    // iotgw_<version>_all.deb with a file that says its version; `failing`: a postinst that
    // cannot run, so dpkg -i fails.
    fs::path build_deb(const std::string& version, const std::string& name = "iotgw", bool failing = false) {
        const fs::path tree = dir.path() / ("tree-" + name + "-" + version);
        fs::create_directories(tree / "DEBIAN");
        fs::create_directories(tree / "usr/share/iotgw-test");
        std::ofstream(tree / "DEBIAN/control") << "Package: " << name << "\nVersion: " << version
                                               << "\nArchitecture: all\nMaintainer: Test <test@example.com>\n"
                                                  "Description: a package for the installer tests\n";
        if (failing) {
            std::ofstream(tree / "DEBIAN/postinst") << "#!/bin/sh\nexit 1\n";
            fs::permissions(tree / "DEBIAN/postinst", fs::perms::owner_all | fs::perms::group_read |
                                                          fs::perms::group_exec | fs::perms::others_read |
                                                          fs::perms::others_exec);
        }
        std::ofstream(tree / "usr/share/iotgw-test/version") << version << "\n";
        const fs::path deb = dir.path() / (name + "_" + version + (failing ? "-failing" : "") + "_all.deb");
        const std::string cmd =
            "dpkg-deb --build --root-owner-group " + tree.string() + " " + deb.string() + " > /dev/null 2>&1";
        EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
        return deb;
    }

    std::string document(const fs::path& deb, const std::string& version, EVP_PKEY* key) {
        const std::string bytes = read_text_file(deb);
        return R"({"operation":"package","url":"https://example.com/p.deb","version":")" + version +
               R"(","size":)" + std::to_string(bytes.size()) + R"(,"sha256":")" + sha256_hex(bytes) +
               R"(","signature":")" + testkeys::sign(key, bytes) + "\"}";
    }

    // What the package handler does: the verified package staged as <job>.deb, then request.json.
    void request(const std::string& job, const fs::path& deb, const std::string& version, EVP_PKEY* key) {
        const std::string doc = document(deb, version, key);
        fs::copy_file(deb, request_dir / (job + ".deb"), fs::copy_options::overwrite_existing);
        std::ofstream(request_dir / "request.json")
            << R"({"job":")" << job << R"(","document":)" << doc << "}";
    }

    void confirm(const std::string& job, const std::string& version) {
        std::ofstream(request_dir / "confirm.json")
            << R"({"job":")" << job << R"(","version":")" << version << "\"}";
    }

    // v1 installed by hand and kept at commissioning (iotgw update keep).
    void commission_v1() {
        const auto v1 = build_deb("1.0.0");
        ASSERT_EQ(std::system(
                      ("dpkg --root=" + root.string() + " -i " + v1.string() + " > /dev/null 2>&1").c_str()),
                  0);
        Installer installer(paths);
        EXPECT_EQ(installer.installed_version(), "1.0.0");
        EXPECT_NE(installer.keep(v1.string(), document(v1, "1.0.0", site.get())).find("kept"),
                  std::string::npos);
    }

    InstallRecord record() {
        InstallRecord r;
        EXPECT_TRUE(Installer(paths).read_record(r));
        return r;
    }

    std::string joined(const std::vector<std::string>& lines) {
        std::string out;
        for (const auto& l : lines) out += l + "\n";
        return out;
    }

    test::TempDir dir;
    fs::path request_dir = dir.path() / "var-lib-iotgw-update";
    fs::path work_dir = dir.path() / "var-lib-iotgw-update-root";
    fs::path keys_dir = dir.path() / "update-keys";
    fs::path root = dir.path() / "root";
    PKey site = new_key();
    InstallerPaths paths;
    static constexpr int64_t kNow = 1'800'000'000;
};

TEST_F(InstallerTest, AVerifiedPackageIsInstalledAndKeptOnceTheNewVersionConfirms) {
    commission_v1();
    request("job-2", build_deb("2.0.0"), "2.0.0", site.get());
    Installer installer(paths);
    const auto did = joined(installer.run(kNow));
    EXPECT_NE(did.find("job job-2: version 2.0.0 installed (was 1.0.0)"), std::string::npos) << did;
    EXPECT_EQ(installer.installed_version(), "2.0.0");
    EXPECT_EQ(read_text_file(root / "usr/share/iotgw-test/version"), "2.0.0\n");
    auto r = record();
    EXPECT_EQ(r.state, "installed");
    EXPECT_EQ(r.previous, "1.0.0");
    EXPECT_EQ(r.deadline, kNow + kDefaultConfirmSeconds);
    EXPECT_FALSE(fs::exists(request_dir / "request.json"));
    EXPECT_FALSE(fs::exists(request_dir / "job-2.deb"));

    confirm("job-2", "2.0.0");
    EXPECT_NE(joined(installer.run(kNow + 30)).find("version 2.0.0 confirmed"), std::string::npos);
    EXPECT_EQ(record().state, "succeeded");
    EXPECT_FALSE(fs::exists(request_dir / "confirm.json"));
    // The deadline passing now changes nothing.
    EXPECT_TRUE(installer.run(kNow + 10'000).empty());
    EXPECT_EQ(installer.installed_version(), "2.0.0");
}

// Someone who can make jobs but not sign packages must not put an AMR back on an old release
// with a known hole: a signed but older version is refused, unless the site runs the helper with
// --allow-downgrade.
TEST_F(InstallerTest, AnOlderVersionIsRefusedUnlessTheSiteAllowsIt) {
    commission_v1();
    const auto old = build_deb("0.9.0");
    request("job-old", old, "0.9.0", site.get());
    Installer installer(paths);
    const auto did = joined(installer.run(kNow));
    EXPECT_NE(did.find("job job-old: version 0.9.0 is older than the installed 1.0.0"), std::string::npos)
        << did;
    EXPECT_EQ(installer.installed_version(), "1.0.0");
    auto r = record();
    EXPECT_EQ(r.state, "downgrade_refused");
    EXPECT_EQ(r.version, "0.9.0");
    EXPECT_EQ(r.previous, "1.0.0");
    EXPECT_NE(r.reason.find("--allow-downgrade"), std::string::npos) << r.reason;
    EXPECT_FALSE(fs::exists(request_dir / "job-old.deb"));
    EXPECT_FALSE(fs::exists(work_dir / "incoming.deb"));
    EXPECT_FALSE(fs::exists(work_dir / "candidate.deb"));

    InstallerPolicy allow;
    allow.allow_downgrade = true;
    request("job-back", old, "0.9.0", site.get());
    Installer allowing(paths, allow);
    EXPECT_NE(joined(allowing.run(kNow)).find("job job-back: version 0.9.0 installed (was 1.0.0)"),
              std::string::npos);
    EXPECT_EQ(allowing.installed_version(), "0.9.0");
    EXPECT_EQ(record().state, "installed");
}

// A package dpkg left unpacked but not configured is not "installed" (dpkg-query's status is not
// ii), but its version still counts: an older one is refused all the same.
TEST_F(InstallerTest, AnOlderVersionIsRefusedEvenWhenTheInstalledOneIsNotConfigured) {
    const auto v1 = build_deb("1.0.0");
    ASSERT_EQ(
        std::system(
            ("dpkg --root=" + root.string() + " --unpack " + v1.string() + " > /dev/null 2>&1").c_str()),
        0);
    Installer installer(paths);
    ASSERT_EQ(installer.installed_version(), "") << "the test needs a package that is not configured";
    request("job-old", build_deb("0.9.0"), "0.9.0", site.get());
    const auto did = joined(installer.run(kNow));
    EXPECT_NE(did.find("version 0.9.0 is older than the installed 1.0.0"), std::string::npos) << did;
    EXPECT_EQ(record().state, "downgrade_refused");
}

TEST(UpdateVersions, DebianOrderDecidesWhatIsOlder) {
    EXPECT_TRUE(is_older_version("0.9.0", "1.0.0"));
    EXPECT_TRUE(is_older_version("0.1.0", "0.1.0+up1"));
    EXPECT_TRUE(is_older_version("0.1.0~rc1", "0.1.0"));
    EXPECT_TRUE(is_older_version("9.0", "1:0.1"));  // an epoch outranks the rest
    EXPECT_FALSE(is_older_version("1.0.0", "1.0.0"));
    EXPECT_FALSE(is_older_version("1.0.10", "1.0.9"));
}

TEST_F(InstallerTest, AVersionThatNeverConfirmsIsRolledBackAtItsDeadline) {
    commission_v1();
    request("job-2", build_deb("2.0.0"), "2.0.0", site.get());
    Installer installer(paths);
    installer.run(kNow);
    EXPECT_TRUE(installer.run(kNow + kDefaultConfirmSeconds - 1).empty()) << "not yet";
    const auto did = joined(installer.run(kNow + kDefaultConfirmSeconds));
    EXPECT_NE(did.find("version 2.0.0 did not confirm before its deadline"), std::string::npos) << did;
    EXPECT_EQ(installer.installed_version(), "1.0.0");
    EXPECT_EQ(read_text_file(root / "usr/share/iotgw-test/version"), "1.0.0\n");
    const auto r = record();
    EXPECT_EQ(r.state, "rolled_back");
    EXPECT_NE(r.reason.find("version 1.0.0 was installed back"), std::string::npos) << r.reason;
    // A confirmation that comes too late is ignored.
    confirm("job-2", "2.0.0");
    EXPECT_NE(joined(installer.run(kNow + 700)).find("ignored"), std::string::npos);
    EXPECT_EQ(record().state, "rolled_back");
}

TEST_F(InstallerTest, APackageDpkgCannotInstallIsRolledBackAtOnce) {
    commission_v1();
    request("job-2", build_deb("2.0.0", "iotgw", true), "2.0.0", site.get());
    Installer installer(paths);
    const auto did = joined(installer.run(kNow));
    EXPECT_NE(did.find("version 2.0.0 could not be installed: dpkg -i exited with"), std::string::npos)
        << did;
    EXPECT_EQ(installer.installed_version(), "1.0.0");
    EXPECT_EQ(record().state, "rolled_back");
}

TEST_F(InstallerTest, WithoutAKeptPackageAnUnconfirmedVersionIsReportedNotGuessed) {
    const auto v1 = build_deb("1.0.0");
    ASSERT_EQ(
        std::system(("dpkg --root=" + root.string() + " -i " + v1.string() + " > /dev/null 2>&1").c_str()),
        0);
    request("job-2", build_deb("2.0.0"), "2.0.0", site.get());
    Installer installer(paths);
    installer.run(kNow);
    installer.run(kNow + kDefaultConfirmSeconds);
    const auto r = record();
    EXPECT_EQ(r.state, "not_confirmed");
    EXPECT_NE(r.reason.find("no earlier package is kept to go back to"), std::string::npos) << r.reason;
}

// The helper stopped inside dpkg (killed, a power cut): the record still says "installing" and
// the new version is unpacked but not configured. The next run finishes dpkg's work and puts the
// kept version back; nothing is left half-installed and the reason says what happened.
TEST_F(InstallerTest, AnInstallInterruptedInsideDpkgIsRolledBackByTheNextRun) {
    commission_v1();
    const auto v2 = build_deb("2.0.0");
    ASSERT_EQ(
        std::system(
            ("dpkg --root=" + root.string() + " --unpack " + v2.string() + " > /dev/null 2>&1").c_str()),
        0);
    std::ofstream(work_dir / "state.json")
        << R"({"job":"job-2","state":"installing","version":"2.0.0","previous":"1.0.0","reason":"","deadline":0})";
    fs::copy_file(v2, work_dir / "incoming.deb");
    Installer installer(paths);
    EXPECT_EQ(installer.installed_version(), "") << "unpacked only: dpkg-query does not say ii";
    const auto did = joined(installer.run(kNow));
    EXPECT_NE(did.find("job job-2: the install of version 2.0.0 was interrupted"), std::string::npos) << did;
    EXPECT_EQ(installer.installed_version(), "1.0.0");
    EXPECT_EQ(read_text_file(root / "usr/share/iotgw-test/version"), "1.0.0\n");
    const auto r = record();
    EXPECT_EQ(r.state, "rolled_back");
    EXPECT_NE(r.reason.find("version 1.0.0 was installed back"), std::string::npos) << r.reason;
    EXPECT_FALSE(fs::exists(work_dir / "incoming.deb"));
    // Done once: the next run has nothing to do.
    EXPECT_TRUE(installer.run(kNow + 1).empty());
}

// The service's word is not taken: each of these is refused by the helper's own checks, and
// nothing is installed.
TEST_F(InstallerTest, WhatTheServiceStagesIsCheckedAgainAndRefusedWithTheReason) {
    commission_v1();
    Installer installer(paths);
    auto stranger = new_key();
    request("job-sig", build_deb("2.0.0"), "2.0.0", stranger.get());
    EXPECT_NE(joined(installer.run(kNow)).find("is not by any trusted update key"), std::string::npos);
    EXPECT_EQ(record().state, "failed");

    // Signed, but not the version the document names.
    const auto v201 = build_deb("2.0.1");
    request("job-ver", v201, "2.0.0", site.get());
    EXPECT_NE(joined(installer.run(kNow)).find("the package's version is 2.0.1, not the 2.0.0 the job names"),
              std::string::npos);

    // Signed, but another package.
    request("job-name", build_deb("2.0.0", "not-iotgw"), "2.0.0", site.get());
    EXPECT_NE(joined(installer.run(kNow)).find("the package is not-iotgw, not iotgw"), std::string::npos);

    // A link where the package should be: not followed.
    const auto v2 = build_deb("2.0.0");
    request("job-link", v2, "2.0.0", site.get());
    fs::remove(request_dir / "job-link.deb");
    fs::create_symlink(v2, request_dir / "job-link.deb");
    const auto did = joined(installer.run(kNow));
    EXPECT_NE(did.find("cannot read " + (request_dir / "job-link.deb").string()), std::string::npos) << did;

    // A job id that would name another file.
    std::ofstream(request_dir / "request.json") << R"({"job":"../../etc/x","document":{}})";
    EXPECT_NE(joined(installer.run(kNow)).find("has no valid \"job\""), std::string::npos);
    std::ofstream(request_dir / "request.json") << "{not json";
    EXPECT_NE(joined(installer.run(kNow)).find("is not a JSON object"), std::string::npos);
    EXPECT_FALSE(fs::exists(request_dir / "request.json")) << "a bad request must not start the unit again";

    EXPECT_EQ(installer.installed_version(), "1.0.0");
}

TEST_F(InstallerTest, ARequestWaitsWhileAnotherUpdateIsUnconfirmedAndTheSameVersionIsNotReinstalled) {
    commission_v1();
    Installer installer(paths);
    request("job-2", build_deb("2.0.0"), "2.0.0", site.get());
    installer.run(kNow);
    request("job-3", build_deb("3.0.0"), "3.0.0", site.get());
    EXPECT_NE(joined(installer.run(kNow + 1))
                  .find("job job-2's version 2.0.0 is still waiting for its confirmation"),
              std::string::npos);
    EXPECT_EQ(installer.installed_version(), "2.0.0");
    confirm("job-2", "2.0.0");
    installer.run(kNow + 2);
    request("job-again", build_deb("2.0.0"), "2.0.0", site.get());
    EXPECT_NE(joined(installer.run(kNow + 3)).find("version 2.0.0 is already installed"), std::string::npos);
    EXPECT_EQ(record().state, "succeeded");
}

}  // namespace
}  // namespace iotgw::core::update
