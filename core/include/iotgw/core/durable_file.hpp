// Crash-safe file changes of the core (`iotgw factory`'s keys and certificates, the remote
// configuration's files): a reader sees the old file or the new one, never a part, and a change
// survives a power cut once the call returns. Errors throw std::runtime_error naming the path and
// the system's reason.
#pragma once

#include <sys/types.h>

#include <string>

namespace iotgw::core::files {

// "<path>.tmp" with exactly `mode` (a leftover at that name is removed, never written through),
// fsync, rename over `path`, fsync of the directory.
void write_file_durably(const std::string& path, const std::string& content, mode_t mode);

// Removes `path` (a missing file is fine) and syncs its directory.
void remove_file_durably(const std::string& path);

// Renames `from` over `to` and syncs the directory (both in the same directory).
void rename_durably(const std::string& from, const std::string& to);

// The whole file.
std::string read_file(const std::string& path);

// Whether anything (a dangling symlink too) is at `path`.
bool file_exists(const std::string& path);

// The directory `path` is in ("." for a bare name).
std::string dir_of_path(const std::string& path);

// strerror(errno), read at the call.
std::string errno_text();

}  // namespace iotgw::core::files
