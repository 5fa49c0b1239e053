// Crash-safe file changes shared by the in-tree plugins. A file is written to "<path>.tmp",
// fsynced, renamed into place and its directory fsynced, so after a crash a reader sees the old or
// the new content, never a part; renames and removals sync the directory so they survive a power
// cut. Errors throw sdk::Error with the path and the system's reason.
#pragma once

#include <string>

namespace iotgw::plugins::common {

// strerror(errno).
std::string errno_text();

// The directory `path` is in ("." for a bare name).
std::string dir_of(const std::string& path);

// Whether anything (a dangling symlink too) is at `path`.
bool path_exists(const std::string& path);

// Makes renames and unlinks in the directory of `path` durable.
void fsync_dir(const std::string& path);

void rename_file(const std::string& from, const std::string& to);

// Removes `path`; a missing file is no error. Not durable by itself (see fsync_dir).
void remove_file(const std::string& path);

// Removes `path` (if present) and makes that durable.
void remove_file_durably(const std::string& path);

// Writes `content` to `path` atomically: a new "<path>.tmp" created with `mode` (whatever was at
// that name before is unlinked, never written through), fsync, rename, fsync dir.
void write_file_atomic(const std::string& path, const std::string& content, unsigned mode);

}  // namespace iotgw::plugins::common
