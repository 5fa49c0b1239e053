// The rule for the plugin's own modules (module_file_trust.hpp): a file or directory that
// another user owns, or that its group or others can write, is refused with a sentence naming it.
#include "module_file_trust.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace iotgw::plugins::mqtt {
namespace {

namespace fs = std::filesystem;

class ModuleFileTrust : public ::testing::Test {
protected:
    test::TempDir tmp;
    fs::path module = tmp.write("mqtt/libiotgw-mqtt-paho-sync.so", "not really a module");

    void chmod(const fs::path& p, mode_t mode) { ASSERT_EQ(::chmod(p.c_str(), mode), 0); }
};

TEST_F(ModuleFileTrust, AFileOfTheGatewaysUserWritableOnlyByItPasses) {
    chmod(module, 0644);
    chmod(module.parent_path(), 0755);
    EXPECT_EQ(module_file_problem(module, ::geteuid()), "");
    EXPECT_EQ(module_file_problem(module.parent_path(), ::geteuid()), "");
}

TEST_F(ModuleFileTrust, AGroupOrWorldWritableFileOrDirectoryIsRefused) {
    chmod(module, 0664);
    const std::string file = module_file_problem(module, ::geteuid());
    EXPECT_NE(file.find(module.string() + " is writable by its group or by others"), std::string::npos)
        << file;
    EXPECT_NE(file.find("chmod go-w"), std::string::npos) << file;
    chmod(module.parent_path(), 0757);
    EXPECT_NE(
        module_file_problem(module.parent_path(), ::geteuid()).find("writable by its group or by others"),
        std::string::npos);
}

TEST_F(ModuleFileTrust, AFileOfAnotherUserIsRefused) {
    chmod(module, 0644);
    if (::geteuid() == 0) {
        // root owns nothing here that another user could: give the file away instead.
        ASSERT_EQ(::chown(module.c_str(), 12345, 12345), 0);
        EXPECT_NE(module_file_problem(module, 0).find("is owned by uid 12345"), std::string::npos);
    } else {
        // As another user than the file's owner (who is not root either), the file is foreign.
        EXPECT_NE(module_file_problem(module, ::geteuid() + 1)
                      .find("neither root nor the user the gateway runs as"),
                  std::string::npos);
    }
}

TEST_F(ModuleFileTrust, AMissingModuleSaysWhatNeedsIt) {
    const std::string problem = module_file_problem(tmp.path() / "mqtt" / "gone.so", ::geteuid());
    EXPECT_NE(problem.find("does not exist (client = \"paho-sync\" needs it"), std::string::npos) << problem;
}

}  // namespace
}  // namespace iotgw::plugins::mqtt
