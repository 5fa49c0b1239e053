// Plugin libraries and directories that someone other than root or the gateway's user could
// change are refused (the sshd StrictModes rule), with the file, owner, mode and fix in the
// message; the override loads them for development trees.
#include "plugin_test_support.hpp"
#include "test_support.hpp"

#include <iotgw/core/plugin_registry.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>

namespace iotgw {
namespace {

namespace fs = std::filesystem;
using core::PluginRegistry;
using test::fixture_library;
using ::testing::HasSubstr;

constexpr const char* kOverride =
    " For a development tree only, --allow-unsafe-plugin-dirs (or IOTGW_ALLOW_UNSAFE_PLUGIN_DIRS=1) "
    "turns this check off.";

// "uid N (name)" as the messages print the gateway's user.
std::string me() { return ::geteuid() == 0 ? "uid 0 (root)" : "uid " + std::to_string(::geteuid()); }

class PluginFileTrust : public ::testing::Test {
protected:
    PluginFileTrust() { registry.allow_unsafe_plugin_dirs(false); }

    // A copy of a good fixture library in `dir` (created 0755), as a build would leave it.
    fs::path install(const fs::path& dir) {
        fs::create_directories(dir);
        fs::permissions(dir, fs::perms(0755));
        const fs::path lib = dir / "libiotgw-good_source.so";
        fs::copy_file(fixture_library("good", "good_source"), lib);
        fs::permissions(lib, fs::perms(0755));
        return lib;
    }
    const core::LoadFailure& only_failure() {
        EXPECT_EQ(registry.failures().size(), 1u);
        static const core::LoadFailure none{};
        return registry.failures().empty() ? none : registry.failures().front();
    }
    bool loaded() const { return registry.find(IOTGW_KIND_SOURCE, "fixture_source") != nullptr; }

    test::RecordingHost host;
    PluginRegistry registry{host.api()};
    test::TempDir tmp;
};

TEST_F(PluginFileTrust, ASafeCopyLoads) {
    install(tmp.path() / "plugins");
    registry.load_directory(tmp.path() / "plugins");
    EXPECT_TRUE(registry.failures().empty()) << registry.failures().front().message;
    EXPECT_TRUE(loaded());
}

TEST_F(PluginFileTrust, AGroupWritableLibraryIsRefusedWithItsOwnerModeAndTheFix) {
    const fs::path lib = install(tmp.path() / "plugins");
    fs::permissions(lib, fs::perms(0775));
    registry.load_directory(tmp.path() / "plugins");
    EXPECT_FALSE(loaded());
    const auto& f = only_failure();
    EXPECT_TRUE(f.fatal);
    EXPECT_EQ(f.message,
              lib.string() + ": plugin refused: " + lib.string() + " is owned by " + me() +
                  " with mode 0775: a plugin file must belong to root or to the gateway's user (" + me() +
                  ") and must not be writable by group or others, or whoever can change it can run "
                  "code as the gateway. Fix: chmod go-w " +
                  lib.string() + "." + kOverride);
}

TEST_F(PluginFileTrust, AWorldWritablePluginDirectoryIsRefusedEvenWhenSticky) {
    const fs::path dir = tmp.path() / "plugins";
    install(dir);
    fs::permissions(dir, fs::perms(01777));
    registry.load_directory(dir);
    EXPECT_FALSE(loaded());
    const auto& f = only_failure();
    EXPECT_TRUE(f.fatal);
    EXPECT_EQ(f.message,
              "plugin directory " + dir.string() + " refused: " + dir.string() + " is owned by " + me() +
                  " with mode 1777: a plugin directory must belong to root or to the gateway's user (" +
                  me() +
                  ") and must not be writable by group or others, or whoever can change it can run "
                  "code as the gateway. Fix: chmod go-w " +
                  dir.string() + "." + kOverride);
}

// Whoever can write a directory above can rename the plugin directory away and put their own in.
TEST_F(PluginFileTrust, AGroupWritableDirectoryAboveThePluginDirectoryIsRefused) {
    const fs::path above = tmp.path() / "opt";
    install(above / "iotgw" / "plugins");
    fs::permissions(above, fs::perms(0775));
    registry.load_directory(above / "iotgw" / "plugins");
    EXPECT_FALSE(loaded());
    EXPECT_THAT(
        only_failure().message,
        HasSubstr(above.string() + " is owned by " + me() +
                  " with mode 0775: a plugin directory (or a directory above one) must belong to root"));
}

// Like /tmp: others may add entries to a sticky directory but not rename or remove ours.
TEST_F(PluginFileTrust, AStickyWorldWritableDirectoryAboveIsAccepted) {
    const fs::path sticky = tmp.path() / "shared";
    install(sticky / "plugins");
    fs::permissions(sticky, fs::perms(01777));
    registry.load_directory(sticky / "plugins");
    EXPECT_TRUE(registry.failures().empty()) << registry.failures().front().message;
    EXPECT_TRUE(loaded());
}

// The file that would be loaded is judged, not the link: a safe directory may link to a
// library in an unsafe one only if that one is safe too.
TEST_F(PluginFileTrust, ASymlinkIsJudgedByTheLibraryItResolvesTo) {
    const fs::path unsafe = tmp.path() / "unsafe";
    const fs::path target = install(unsafe);
    fs::permissions(unsafe, fs::perms(0777));
    const fs::path dir = tmp.path() / "plugins";
    fs::create_directory(dir);
    fs::permissions(dir, fs::perms(0755));
    fs::create_symlink(target, dir / "libiotgw-good_source.so");
    registry.load_directory(dir);
    EXPECT_FALSE(loaded());
    EXPECT_THAT(only_failure().message, HasSubstr((dir / "libiotgw-good_source.so").string() + " (which is " +
                                                  target.string() + "): plugin refused: " + unsafe.string() +
                                                  " is owned by " + me() + " with mode 0777"));
}

TEST_F(PluginFileTrust, ALibraryOwnedByAnotherUserIsRefused) {
    if (::geteuid() != 0) GTEST_SKIP() << "giving a file to another user needs root";
    const fs::path lib = install(tmp.path() / "plugins");
    ASSERT_EQ(::chown(lib.c_str(), 65534, 65534), 0);
    registry.load_directory(tmp.path() / "plugins");
    EXPECT_FALSE(loaded());
    EXPECT_THAT(only_failure().message, HasSubstr(" is owned by uid 65534"));
    EXPECT_THAT(only_failure().message, HasSubstr("Fix: chown root:root " + lib.string() + "."));
}

TEST_F(PluginFileTrust, TheOverrideLoadsAnUnsafeTree) {
    const fs::path lib = install(tmp.path() / "plugins");
    fs::permissions(lib, fs::perms(0777));
    fs::permissions(tmp.path() / "plugins", fs::perms(0777));
    registry.allow_unsafe_plugin_dirs(true);
    registry.load_directory(tmp.path() / "plugins");
    EXPECT_TRUE(registry.failures().empty()) << registry.failures().front().message;
    EXPECT_TRUE(loaded());
}

// Sets IOTGW_ALLOW_UNSAFE_PLUGIN_DIRS for one test and restores what was there.
class OverrideEnv {
public:
    explicit OverrideEnv(const char* value) {
        if (const char* old = std::getenv(kName)) saved_ = old;
        if (value != nullptr)
            ::setenv(kName, value, 1);
        else
            ::unsetenv(kName);
    }
    ~OverrideEnv() {
        if (saved_)
            ::setenv(kName, saved_->c_str(), 1);
        else
            ::unsetenv(kName);
    }

private:
    static constexpr const char* kName = "IOTGW_ALLOW_UNSAFE_PLUGIN_DIRS";
    std::optional<std::string> saved_;
};

TEST(PluginFileTrustEnvironment, OnlyTheValueOneAllowsUnsafeDirectories) {
    test::RecordingHost host;
    {
        OverrideEnv env("1");
        EXPECT_TRUE(PluginRegistry(host.api()).unsafe_plugin_dirs_allowed());
    }
    for (const char* value : {"0", "", "yes"}) {
        OverrideEnv env(value);
        EXPECT_FALSE(PluginRegistry(host.api()).unsafe_plugin_dirs_allowed()) << "value '" << value << "'";
    }
    OverrideEnv unset(nullptr);
    EXPECT_FALSE(PluginRegistry(host.api()).unsafe_plugin_dirs_allowed());
}

}  // namespace
}  // namespace iotgw
