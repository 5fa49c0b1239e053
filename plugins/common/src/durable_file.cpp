#include <iotgw/plugins/common/durable_file.hpp>

#include <iotgw/sdk/errors.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace iotgw::plugins::common {

std::string errno_text() { return std::strerror(errno); }

std::string dir_of(const std::string& path) {
    auto d = std::filesystem::path(path).parent_path();
    return d.empty() ? std::string(".") : d.string();
}

bool path_exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

void fsync_dir(const std::string& path) {
    const std::string dir = dir_of(path);
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw sdk::Error("cannot open directory " + dir + " to sync it: " + errno_text());
    const int rc = ::fsync(fd);
    const int saved = errno;
    ::close(fd);
    if (rc != 0) throw sdk::Error("cannot sync directory " + dir + ": " + std::strerror(saved));
}

void rename_file(const std::string& from, const std::string& to) {
    if (::rename(from.c_str(), to.c_str()) != 0)
        throw sdk::Error("cannot rename " + from + " to " + to + ": " + errno_text());
}

void remove_file(const std::string& path) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        throw sdk::Error("cannot remove " + path + ": " + errno_text());
}

void remove_file_durably(const std::string& path) {
    if (!path_exists(path)) return;
    remove_file(path);
    fsync_dir(path);
}

namespace {

// Opens a new, empty "<path>.tmp" that nobody else holds. Whatever was at that name is
// unlinked first, not reused: a hard link or an open descriptor to a leftover (an earlier crash,
// or someone who could write the directory) would otherwise receive the content, and a symlink
// would redirect it. O_EXCL|O_NOFOLLOW then refuses anything that appears at the name in
// between instead of writing into it. The name stays fixed (not mkstemp's random suffix) so
// that recovery after a crash finds the leftover (renewal_slots.cpp).
int create_fresh_temp(const std::string& tmp, mode_t mode) {
    if (::unlink(tmp.c_str()) != 0 && errno != ENOENT)
        throw sdk::Error("cannot remove the leftover " + tmp + ": " + errno_text());
    // Created with `mode` (narrowed by the umask), so it is never more open than asked for.
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        if (errno == EEXIST)
            throw sdk::Error("cannot create " + tmp + ": something else created it at the same time; check who "
                             "else writes to " + dir_of(tmp));
        throw sdk::Error("cannot create " + tmp + ": " + errno_text());
    }
    return fd;
}

}  // namespace

void write_file_atomic(const std::string& path, const std::string& content, unsigned mode) {
    const std::string tmp = path + ".tmp";
    const int fd = create_fresh_temp(tmp, static_cast<mode_t>(mode));
    auto fail = [&](const std::string& what) {
        const int saved = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        throw sdk::Error("cannot " + what + " " + tmp + ": " + std::strerror(saved));
    };
    // The umask may have narrowed it: the file gets exactly `mode` (a new file, so this widens
    // nothing beyond what the caller asked for).
    if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) fail("set the mode of");
    size_t done = 0;
    while (done < content.size()) {
        const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail("write");
        }
        done += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) fail("sync");
    if (::close(fd) != 0) {
        ::unlink(tmp.c_str());
        throw sdk::Error("cannot close " + tmp + ": " + errno_text());
    }
    rename_file(tmp, path);
    fsync_dir(path);
}

}  // namespace iotgw::plugins::common
