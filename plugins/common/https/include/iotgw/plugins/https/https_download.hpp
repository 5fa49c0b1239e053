// One HTTPS download into a file, for the job handlers that fetch what a job names (a package,
// a configuration): the server's certificate is verified (the system's CAs or a given bundle,
// and the host name), the size is capped before and while reading, the SHA-256 is computed on
// the way, and an interrupted download is resumed with a Range request from what an earlier
// attempt left in "<path>.part". The finished file appears at <path> whole (fsync, rename) or
// not at all.
//
// It blocks the calling thread: run it on a worker thread and post the outcome to the loop.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace iotgw::plugins::https {

struct DownloadRequest {
    std::string url;           // https://...; a presigned URL's query is never logged
    std::string path;          // the finished file; bytes so far are kept in path + ".part"
    uint64_t max_bytes = 0;    // anything larger is refused (must be > 0)
    std::string ca_file;       // trust only these CAs; empty: the system's bundle
    std::chrono::milliseconds io_timeout{30'000};  // for each connect, handshake, write or read
};

struct DownloadOutcome {
    bool ok = false;
    std::string error;          // one sentence naming the host; empty when ok
    bool retryable = false;     // a network failure or a 5xx: trying again later may work
    int http_status = 0;        // 0 when no response was read
    uint64_t bytes = 0;         // the finished file's size
    uint64_t resumed_from = 0;  // bytes kept from an earlier attempt
    std::string sha256;         // hex, of the whole file
};

// `progress(bytes_so_far, total_or_0)` is called on this thread after each chunk; `cancelled`
// is read between chunks (a blocked read ends within io_timeout).
DownloadOutcome download(const DownloadRequest& request, const std::atomic<bool>& cancelled,
                         const std::function<void(uint64_t, uint64_t)>& progress = {});

}  // namespace iotgw::plugins::https
