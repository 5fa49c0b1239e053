#include "test_support.hpp"

#include <chrono>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace iotgw::test {

TempDir::TempDir() {
    std::random_device rd;
    for (int attempt = 0; attempt < 100; ++attempt) {
        auto candidate = std::filesystem::temp_directory_path() /
                         ("iotgw-test-" + std::to_string(rd()) + std::to_string(attempt));
        if (std::filesystem::create_directory(candidate)) {
            path_ = candidate;
            return;
        }
    }
    throw std::runtime_error("cannot create a temporary directory");
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

std::filesystem::path TempDir::write(const std::string& name, const std::string& content) const {
    auto p = path_ / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out) throw std::runtime_error("cannot write " + p.string());
    return p;
}

CapturingLog::CapturingLog()
    : logger_([this](int, std::string_view line) {
          std::lock_guard lock(mutex_);
          lines_.emplace_back(line);
      },
      IOTGW_LOG_DEBUG) {}

std::vector<std::string> CapturingLog::lines() const {
    std::lock_guard lock(mutex_);
    return lines_;
}

bool CapturingLog::contains(const std::string& needle) const {
    std::lock_guard lock(mutex_);
    for (const auto& l : lines_)
        if (l.find(needle) != std::string::npos) return true;
    return false;
}

std::string CapturingLog::joined() const {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& l : lines_) out += l + "\n";
    return out;
}

std::string read_text_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::filesystem::path fixture_plugin_dir() { return IOTGW_FIXTURE_PLUGIN_DIR; }
std::filesystem::path build_plugin_dir() { return IOTGW_BUILD_PLUGIN_DIR; }
std::filesystem::path test_data_dir() { return IOTGW_TEST_DATA_DIR; }
std::filesystem::path source_dir() { return IOTGW_SOURCE_DIR; }

}  // namespace iotgw::test
