#include <iotgw/core/durable_file.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace iotgw::core::files {
namespace {

std::string dir_of_impl(const std::string& path) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

void fsync_dir(const std::string& path) {
    const std::string dir = dir_of_impl(path);
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("cannot open the directory " + dir + ": " + errno_text());
    const int rc = ::fsync(fd);
    const int saved = errno;
    ::close(fd);
    if (rc != 0) throw std::runtime_error("cannot sync the directory " + dir + ": " + std::strerror(saved));
}

}  // namespace

std::string errno_text() { return std::strerror(errno); }

std::string dir_of_path(const std::string& path) { return dir_of_impl(path); }

void write_file_durably(const std::string& path, const std::string& content, mode_t mode) {
    const std::string tmp = path + ".tmp";
    // A leftover at the temporary name (an earlier crash, or planted by someone who can write the
    // directory) is removed, never written through: a symlink would redirect the content and a
    // hard link or an open descriptor would keep a copy. O_EXCL|O_NOFOLLOW then refuses anything
    // that appears at the name in between.
    if (::unlink(tmp.c_str()) != 0 && errno != ENOENT)
        throw std::runtime_error("cannot remove the leftover " + tmp + ": " + errno_text());
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) throw std::runtime_error("cannot create " + tmp + ": " + errno_text());
    size_t done = 0;
    while (done < content.size()) {
        const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int saved = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            throw std::runtime_error("cannot write " + tmp + ": " + std::strerror(saved));
        }
        done += static_cast<size_t>(n);
    }
    // The mode given to open() is reduced by the umask; the file must have exactly `mode`.
    if (::fchmod(fd, mode) != 0 || ::fsync(fd) != 0) {
        const int saved = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        throw std::runtime_error("cannot finish " + tmp + ": " + std::strerror(saved));
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int saved = errno;
        ::unlink(tmp.c_str());
        throw std::runtime_error("cannot rename " + tmp + " to " + path + ": " + std::strerror(saved));
    }
    fsync_dir(path);
}

void remove_file_durably(const std::string& path) {
    if (::unlink(path.c_str()) != 0) {
        if (errno == ENOENT) return;
        throw std::runtime_error("cannot remove " + path + ": " + errno_text());
    }
    fsync_dir(path);
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path + ": " + errno_text());
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

bool file_exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

void rename_durably(const std::string& from, const std::string& to) {
    if (::rename(from.c_str(), to.c_str()) != 0)
        throw std::runtime_error("cannot rename " + from + " to " + to + ": " + errno_text());
    fsync_dir(to);
}

}  // namespace iotgw::core::files
