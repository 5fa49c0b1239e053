// One HTTPS upload of a body held in memory, by PUT (a presigned S3 URL, or a site's own server),
// for the job handlers that send something back (the `logs` handler): the server's certificate
// is verified as for a download, the body goes with its Content-Length (S3 refuses a presigned
// PUT without one) and only a 2xx answer counts.
//
// It blocks the calling thread: run it on a worker thread and post the outcome to the loop.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

namespace iotgw::plugins::https {

struct UploadRequest {
    std::string url;                               // https://...; a presigned URL's query is never logged
    std::string body;                              // sent as it is
    std::string content_type;                      // e.g. "text/plain; charset=utf-8"; empty: none sent
    std::string ca_file;                           // trust only these CAs; empty: the system's bundle
    // For the connect and the handshake; then the body and the answer may go this long without
    // the server acknowledging a byte or answering (a slow uplink is not cut off, a stalled one is).
    std::chrono::milliseconds io_timeout{30'000};
};

struct UploadOutcome {
    bool ok = false;
    std::string error;       // one sentence naming the host; empty when ok
    bool retryable = false;  // a network failure or a 5xx: trying again later may work
    int http_status = 0;     // 0 when no response was read
};

// `cancelled` is read while waiting (a blocked write or read ends within a tenth of a second).
UploadOutcome upload(const UploadRequest& request, const std::atomic<bool>& cancelled);

}  // namespace iotgw::plugins::https
