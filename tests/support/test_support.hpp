// Helpers shared by all tests (the gateway's, the plugins' and localcore's): scratch directories,
// a logger that records lines, and small checks.
#pragma once

#include <iotgw/core/log.hpp>

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

namespace iotgw::test {

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const noexcept { return path_; }
    // Write `content` to path()/name (creating parent dirs) and return the full path.
    std::filesystem::path write(const std::string& name, const std::string& content) const;

private:
    std::filesystem::path path_;
};

// A Logger whose lines are kept for assertions (level prefix included, no timestamps).
class CapturingLog {
public:
    CapturingLog();
    core::Logger& logger() noexcept { return logger_; }
    std::vector<std::string> lines() const;
    // True if some line contains `needle`.
    bool contains(const std::string& needle) const;
    std::string joined() const;

private:
    mutable std::mutex mutex_;
    std::vector<std::string> lines_;
    core::Logger logger_;
};

// The whole content of the file `p` ("" when it cannot be read).
std::string read_text_file(const std::filesystem::path& p);

// True if `text` contains `part`: reads better than find() != npos inside EXPECT_TRUE.
bool has(const std::string& text, const std::string& part);

// Wall-clock time in milliseconds since the Unix epoch (what AMR messages carry in "ts").
std::int64_t now_ms();

std::filesystem::path fixture_plugin_dir();
std::filesystem::path build_plugin_dir();
std::filesystem::path test_data_dir();
std::filesystem::path source_dir();

}  // namespace iotgw::test
