// Checks of a certificate chain, its private key and trust anchors stored as PEM files, with
// errors an operator can act on. Files are checked through descriptors that stay open, so the
// content checked is the content that can be handed out later even if the path is replaced.
#pragma once

#include <iotgw/plugins/common/cert_fields.hpp>

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <string>

namespace iotgw::plugins::file {

// An open descriptor, closed on destruction.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) noexcept : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(o.release()) {}
    Fd& operator=(Fd&& o) noexcept;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd();
    int get() const noexcept { return fd_; }
    int release() noexcept;

private:
    int fd_ = -1;
};

// Which file a path names right now: a rename over it or a rewrite changes this.
struct FileId {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    int64_t mtime_ns = 0;
    bool operator==(const FileId&) const = default;
};
std::optional<FileId> file_id(const std::string& path) noexcept;

struct Paths {
    std::string cert, key, ca;  // ca empty: none
};

struct CheckedFiles {
    Fd cert, key, ca;
    FileId cert_id, key_id;
    std::optional<FileId> ca_id;
    std::string common_name;  // of the leaf
    std::string serial;       // hex
    int64_t not_before = 0;   // seconds since the epoch
    int64_t not_after = 0;
    int certificates = 0;  // in the chain
};

// Whether a certificate outside its validity period is an error (enforce), or only recorded in
// not_before/not_after for the caller to judge (dates_later: a device that provisions itself
// replaces an expired certificate instead of refusing to start).
enum class DateCheck { enforce, dates_later };

// Opens and checks everything; throws sdk::ConfigError naming the file, what is wrong and the fix.
CheckedFiles check_files(const Paths& paths, int64_t now_unix, DateCheck dates = DateCheck::enforce);

// "2026-11-28T13:59:02Z"
using common::iso8601_utc;

}  // namespace iotgw::plugins::file
