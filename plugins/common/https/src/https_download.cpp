#include <iotgw/core/sha256.hpp>
#include <iotgw/plugins/common/durable_file.hpp>
#include <iotgw/plugins/https/https_download.hpp>
#include <iotgw/plugins/https/https_url.hpp>

#include "https_session.hpp"

#include <boost/beast/http.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <limits>
#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace iotgw::plugins::https {
namespace {

using detail::error_code;
using detail::Failure;
using detail::reason;
using detail::Session;
namespace beast = boost::beast;
namespace http = beast::http;

// A descriptor closed on every path out.
class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const noexcept { return fd_; }
    int release() noexcept { return std::exchange(fd_, -1); }

private:
    int fd_;
};

uint64_t size_of(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    return static_cast<uint64_t>(st.st_size);
}

void write_all(int fd, const char* data, size_t n, const std::string& path) {
    while (n > 0) {
        const ssize_t w = ::write(fd, data, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) throw Failure("cannot write " + path + ": " + std::strerror(errno), false);
        data += w;
        n -= static_cast<size_t>(w);
    }
}

void run(const DownloadRequest& rq, const std::atomic<bool>& cancelled,
         const std::function<void(uint64_t, uint64_t)>& progress, DownloadOutcome& out) {
    if (rq.max_bytes == 0) throw Failure("no size limit was given for the download", false);
    const HttpsUrl url = parse_https_url(rq.url);
    const std::string where = url.authority();
    const std::string part = rq.path + ".part";
    uint64_t have = size_of(part);
    if (have >= rq.max_bytes) {
        common::remove_file(part);
        have = 0;
    }

    Session session(url, rq.ca_file, rq.io_timeout, cancelled);
    auto& stream = session.stream();
    error_code ec;

    http::request<http::empty_body> req{http::verb::get, url.target, 11};
    req.set(http::field::host, url.authority());
    req.set(http::field::user_agent, "iotgw");
    if (have > 0) req.set(http::field::range, "bytes=" + std::to_string(have) + "-");
    ec = session.step([&](auto h) { http::async_write(stream, req, std::move(h)); });
    if (ec) throw Failure("cannot send the request to " + where + ": " + reason(ec), true);

    beast::flat_buffer buffer;
    http::response_parser<http::buffer_body> parser;
    // The size is checked here, against what is already in the .part file too, so the refusal
    // can say how large the file is; Beast's own limit would end the header read without that.
    // Not boost::none: Boost 1.74 compares the length with the empty optional and refuses every
    // body.
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    ec = session.step([&](auto h) { http::async_read_header(stream, buffer, parser, std::move(h)); });
    if (ec) throw Failure("no response from " + where + ": " + reason(ec), true);
    auto& res = parser.get();
    out.http_status = static_cast<int>(res.result_int());
    bool append = false;
    if (out.http_status == 206 && have > 0) {
        const std::string range(res[http::field::content_range]);
        if (range.rfind("bytes " + std::to_string(have) + "-", 0) != 0) {
            common::remove_file(part);
            throw Failure("the server " + where + " resumed at another offset (" + range + "); it starts over next time",
                          true);
        }
        append = true;
        out.resumed_from = have;
    } else if (out.http_status == 200) {
        have = 0;
    } else if (out.http_status == 416 && have > 0) {
        common::remove_file(part);
        throw Failure("the server " + where + " would not resume the download; it starts over next time", true);
    } else {
        const bool retry = out.http_status >= 500 || out.http_status == 429 || out.http_status == 408;
        throw Failure("the server " + where + " answered HTTP " + std::to_string(out.http_status) + " " +
                          std::string(res.reason()) + (out.http_status == 403 ? " (an expired presigned URL?)" : ""),
                      retry);
    }
    uint64_t total = 0;
    if (const auto length = parser.content_length()) {
        total = have + *length;
        if (total > rq.max_bytes)
            throw Failure("the file at " + where + " is " + std::to_string(total) + " bytes; at most " +
                              std::to_string(rq.max_bytes) + " are taken",
                          false);
    }

    core::Sha256 hash;
    if (append)
        core::read_file_chunks(part, [&hash](const unsigned char* data, size_t n) { hash.update(data, n); });
    Fd fd(::open(part.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (append ? O_APPEND : O_TRUNC), 0600));
    if (fd.get() < 0) throw Failure("cannot write " + part + ": " + std::strerror(errno), false);

    std::array<char, 65536> chunk{};
    while (!parser.is_done()) {
        if (cancelled.load()) throw Failure("the download from " + where + " was cancelled", false);
        res.body().data = chunk.data();
        res.body().size = chunk.size();
        ec = session.step([&](auto h) { http::async_read(stream, buffer, parser, std::move(h)); });
        if (ec == http::error::need_buffer) ec = {};
        // What arrived is kept even when the read then failed: the next attempt resumes after it.
        const size_t n = chunk.size() - res.body().size;
        write_all(fd.get(), chunk.data(), n, part);
        hash.update(chunk.data(), n);
        have += n;
        if (have > rq.max_bytes)
            throw Failure("the file at " + where + " is larger than " + std::to_string(rq.max_bytes) + " bytes", false);
        if (ec)
            throw Failure("the download from " + where + " broke off after " + std::to_string(have) +
                              " bytes: " + reason(ec) + "; it resumes from there",
                          true);
        if (progress) progress(have, total);
    }
    if (::fsync(fd.get()) != 0) throw Failure("cannot sync " + part + ": " + std::strerror(errno), false);
    if (::close(fd.release()) != 0) throw Failure("cannot close " + part + ": " + std::strerror(errno), false);
    if (total != 0 && have != total)
        throw Failure("the download from " + where + " ended after " + std::to_string(have) + " of " +
                          std::to_string(total) + " bytes",
                      true);
    common::rename_file(part, rq.path);
    common::fsync_dir(rq.path);
    out.bytes = have;
    out.sha256 = hash.hex();
    session.shutdown();
}

}  // namespace

DownloadOutcome download(const DownloadRequest& request, const std::atomic<bool>& cancelled,
                         const std::function<void(uint64_t, uint64_t)>& progress) {
    DownloadOutcome out;
    detail::run_transfer("the download from " + redacted(request.url), cancelled, out,
                         [&] { run(request, cancelled, progress, out); });
    return out;
}

}  // namespace iotgw::plugins::https
