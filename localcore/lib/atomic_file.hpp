// Crash-safe file primitives shared by the registry, the CA, the broker plugin's stores and the CLI.
#pragma once

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <sys/types.h>

namespace localcore {

// Every localcore failure. Messages have the form "<what was wrong>; <what to do>" so the CLI can
// print them verbatim on one line.
struct Error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Writes `data` so that readers see either the old or the new content, never a mix, even after a
// crash: temp file in the same directory, fsync, rename, fsync of the directory.
void write_file_atomic(const std::filesystem::path& path, std::string_view data, mode_t mode = 0644);

// Like write_file_atomic but refuses to replace an existing file (issued keys must never clobber
// a key someone still uses).
void write_new_file_atomic(const std::filesystem::path& path, std::string_view data, mode_t mode = 0644);

// nullopt when the file does not exist; throws Error for any other failure.
std::optional<std::string> read_file_if_exists(const std::filesystem::path& path);

// Throws Error naming the file when it cannot be read.
std::string read_file(const std::filesystem::path& path);

// Exclusive advisory lock (flock) held for the object's lifetime; serialises read-modify-write
// cycles between the CLI and the broker plugin.
class FileLock {
public:
    explicit FileLock(const std::filesystem::path& path);
    ~FileLock();
    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;

private:
    int fd_ = -1;
};

}  // namespace localcore
