// default_plugin_dirs(): $IOTGW_PLUGIN_PATH, else next to the executable, else the install dir.
#include "test_support.hpp"

#include <iotgw/core/plugin_registry.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>

namespace iotgw {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;

// Sets or unsets IOTGW_PLUGIN_PATH for one test and restores what was there before.
class PluginPathEnv {
public:
    explicit PluginPathEnv(const char* value) {
        if (const char* old = std::getenv("IOTGW_PLUGIN_PATH")) saved_ = old;
        if (value != nullptr)
            ::setenv("IOTGW_PLUGIN_PATH", value, 1);
        else
            ::unsetenv("IOTGW_PLUGIN_PATH");
    }
    ~PluginPathEnv() {
        if (saved_)
            ::setenv("IOTGW_PLUGIN_PATH", saved_->c_str(), 1);
        else
            ::unsetenv("IOTGW_PLUGIN_PATH");
    }
    PluginPathEnv(const PluginPathEnv&) = delete;
    PluginPathEnv& operator=(const PluginPathEnv&) = delete;

private:
    std::optional<std::string> saved_;
};

// What the fallback must be for this very test binary.
fs::path expected_fallback() {
    const fs::path beside = (fs::read_symlink("/proc/self/exe").parent_path() / ".." / "lib" / "iotgw" /
                             "plugins").lexically_normal();
    return fs::is_directory(beside) ? beside : fs::path(IOTGW_PLUGIN_INSTALL_DIR);
}

TEST(DefaultPluginDirs, EnvironmentListIsUsedInOrder) {
    PluginPathEnv env("/opt/a/plugins:/opt/b/plugins");
    EXPECT_THAT(core::default_plugin_dirs(), ElementsAre(fs::path("/opt/a/plugins"), fs::path("/opt/b/plugins")));
}

TEST(DefaultPluginDirs, EmptyEntriesAreIgnored) {
    PluginPathEnv env(":/opt/a::/opt/b:");
    EXPECT_THAT(core::default_plugin_dirs(), ElementsAre(fs::path("/opt/a"), fs::path("/opt/b")));
}

TEST(DefaultPluginDirs, EnvironmentDirsNeedNotExist) {
    // Existence is load_directory's business: it reports the missing directory by name.
    PluginPathEnv env("/nonexistent/iotgw/plugins");
    EXPECT_THAT(core::default_plugin_dirs(), ElementsAre(fs::path("/nonexistent/iotgw/plugins")));
}

TEST(DefaultPluginDirs, UnsetFallsBackToTheExecutableOrInstallDir) {
    PluginPathEnv env(nullptr);
    EXPECT_THAT(core::default_plugin_dirs(), ElementsAre(expected_fallback()));
}

TEST(DefaultPluginDirs, EmptyValueCountsAsUnset) {
    PluginPathEnv env("");
    EXPECT_THAT(core::default_plugin_dirs(), ElementsAre(expected_fallback()));
}

TEST(DefaultPluginDirs, InstallDirIsAbsolute) {
    EXPECT_TRUE(fs::path(IOTGW_PLUGIN_INSTALL_DIR).is_absolute());
}

}  // namespace
}  // namespace iotgw
