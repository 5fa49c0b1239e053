// The fixture plugin libraries as readelf sees them. Hidden visibility and -fno-gnu-unique are
// what let dlclose really unload a plugin (tests/unit/plugin/plugin_loading_test.cpp checks the
// unloading itself); a UNIQUE symbol would keep a library mapped after its registry is gone.
// A process test: it runs readelf on every fixture library.
#include "test_support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

namespace iotgw {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

TEST(PluginUnloading, FixturesHaveNoUniqueSymbols) {
    if (std::system("readelf --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "readelf not found";
    int checked = 0;
    for (const auto& entry : fs::recursive_directory_iterator(test::fixture_plugin_dir())) {
        if (entry.path().extension() != ".so" || entry.path().filename() == "libiotgw-junk.so") continue;
        const std::string cmd = "readelf --dyn-syms -W '" + entry.path().string() + "' 2>/dev/null";
        std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(cmd.c_str(), "r"), &::pclose);
        ASSERT_NE(pipe, nullptr);
        std::string out;
        char buf[4096];
        while (std::fgets(buf, sizeof buf, pipe.get()) != nullptr) out += buf;
        EXPECT_THAT(out, HasSubstr("Symbol table")) << entry.path();
        EXPECT_THAT(out, ::testing::Not(HasSubstr("UNIQUE"))) << entry.path();
        ++checked;
    }
    EXPECT_GE(checked, 10);
}

}  // namespace
}  // namespace iotgw
