#include "atomic_file.hpp"

#include <cerrno>
#include <cstring>
#include <random>
#include <sstream>
#include <utility>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace localcore {
namespace {

std::string errno_text() { return std::strerror(errno); }

class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }

private:
    int fd_;
};

void fsync_dir(const std::filesystem::path& dir) {
    Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0 || ::fsync(fd.get()) != 0)
        throw Error("cannot sync directory " + dir.string() + ": " + errno_text() +
                    "; check the disk and the directory's permissions");
}

std::filesystem::path temp_name_for(const std::filesystem::path& path) {
    std::random_device rd;
    std::ostringstream name;
    name << '.' << path.filename().string() << ".tmp-" << ::getpid() << '-' << std::hex << rd();
    return path.parent_path() / name.str();
}

// Writes the temp file fully and durably; returns its path.
std::filesystem::path write_temp(const std::filesystem::path& path, std::string_view data, mode_t mode) {
    const auto tmp = temp_name_for(path);
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
    if (fd.get() < 0)
        throw Error("cannot create " + tmp.string() + ": " + errno_text() + "; check that " +
                    path.parent_path().string() + " exists and is writable");
    // The umask may have removed bits; the caller's mode is what the file must have (0600 keys).
    bool ok = ::fchmod(fd.get(), mode) == 0;
    for (std::size_t done = 0; ok && done < data.size();) {
        const auto n = ::write(fd.get(), data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
            ok = false;
        else
            done += static_cast<std::size_t>(n);
    }
    ok = ok && ::fsync(fd.get()) == 0;
    const std::string why = errno_text();
    if (::close(fd.release()) != 0) ok = false;
    if (!ok) {
        ::unlink(tmp.c_str());
        throw Error("cannot write " + path.string() + ": " + why + "; check free disk space");
    }
    return tmp;
}

std::filesystem::path dir_of(const std::filesystem::path& path) {
    return path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
}

}  // namespace

void write_file_atomic(const std::filesystem::path& path, std::string_view data, mode_t mode) {
    const auto tmp = write_temp(path, data, mode);
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string why = errno_text();
        ::unlink(tmp.c_str());
        throw Error("cannot replace " + path.string() + ": " + why + "; check the directory's permissions");
    }
    fsync_dir(dir_of(path));
}

void write_new_file_atomic(const std::filesystem::path& path, std::string_view data, mode_t mode) {
    const auto tmp = write_temp(path, data, mode);
    // link() fails with EEXIST instead of silently replacing, unlike rename().
    if (::link(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        if (err == EEXIST)
            throw Error(path.string() + " already exists; choose another name or remove the file");
        throw Error("cannot create " + path.string() + ": " + std::strerror(err) +
                    "; check the directory's permissions");
    }
    ::unlink(tmp.c_str());
    fsync_dir(dir_of(path));
}

std::optional<std::string> read_file_if_exists(const std::filesystem::path& path) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        if (errno == ENOENT) return std::nullopt;
        throw Error("cannot read " + path.string() + ": " + errno_text() + "; check the file's permissions");
    }
    std::string content;
    char buf[65536];
    for (;;) {
        const auto n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0)
            throw Error("cannot read " + path.string() + ": " + errno_text() +
                        "; check the file and the disk");
        if (n == 0) break;
        content.append(buf, static_cast<std::size_t>(n));
    }
    return content;
}

std::string read_file(const std::filesystem::path& path) {
    auto content = read_file_if_exists(path);
    if (!content) throw Error(path.string() + " does not exist; check the path");
    return std::move(*content);
}

FileLock::FileLock(const std::filesystem::path& path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0)
        throw Error("cannot open lock file " + path.string() + ": " + errno_text() +
                    "; check that the data directory exists and is writable");
    while (::flock(fd_, LOCK_EX) != 0) {
        if (errno == EINTR) continue;
        const std::string why = errno_text();
        ::close(fd_);
        throw Error("cannot lock " + path.string() + ": " + why + "; check the file system");
    }
}

FileLock::~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

}  // namespace localcore
