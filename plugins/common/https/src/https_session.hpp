// One TLS connection to the host of an https:// URL, for the transfers of this library (download,
// upload): the trust store and the host name check set up once, every step bounded by a timeout
// and ended early by a cancel flag. Private to iotgw::https.
#pragma once

#include <iotgw/plugins/https/https_url.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string>

namespace iotgw::plugins::https::detail {

namespace beast = boost::beast;
namespace net = boost::asio;
using error_code = boost::system::error_code;

// What ends an attempt: the sentence, and whether the same request may work later.
class Failure : public std::runtime_error {
public:
    Failure(const std::string& what, bool retryable) : std::runtime_error(what), retryable_(retryable) {}
    bool retryable() const noexcept { return retryable_; }

private:
    bool retryable_;
};

// "no answer in time" for a timeout, else the error's own words.
std::string reason(const error_code& ec);

class Session {
public:
    // Connects and completes the TLS handshake, verifying the server against `ca_file` (empty:
    // the system's bundle) and the URL's host. Throws Failure.
    Session(const HttpsUrl& url, const std::string& ca_file, std::chrono::milliseconds io_timeout,
            const std::atomic<bool>& cancelled);

    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    // Runs one asynchronous operation on the stream to its end; the stream's timer ends it with
    // beast::error::timeout after the I/O timeout (a synchronous Beast call would have none),
    // and the cancel flag within a tenth of a second, so a stop never waits for a stalled server.
    template <class Start>
    error_code step(Start&& start) {
        return step_for(io_timeout_, std::forward<Start>(start));
    }
    template <class Start>
    error_code step_for(std::chrono::milliseconds timeout, Start&& start) {
        beast::get_lowest_layer(stream_).expires_after(timeout);
        return run_step(std::forward<Start>(start), [] { return false; });
    }

    // Like step(), for sending a request body and waiting for its answer: the I/O timeout counts
    // from the last time the server acknowledged bytes of ours, not from the start of the step. A
    // write returns once its bytes are in the kernel's send buffer (up to 4 MiB on Linux), so on a
    // slow uplink the server is still taking them long after the last write; that is progress,
    // not a silent server. Where the kernel cannot tell (no TCP_INFO counter), this is step().
    template <class Start>
    error_code step_while_acknowledged(Start&& start) {
        if (!note_acknowledged()) return step(std::forward<Start>(start));
        beast::get_lowest_layer(stream_).expires_never();
        return run_step(std::forward<Start>(start), [this] {
            note_acknowledged();
            return std::chrono::steady_clock::now() - acknowledged_at_ > io_timeout_;
        });
    }

    beast::ssl_stream<beast::tcp_stream>& stream() noexcept { return stream_; }
    // host[:port], for messages.
    const std::string& where() const noexcept { return where_; }
    // A polite TLS close; servers that just close are fine too.
    void shutdown();

private:
    // Runs the operation `start` begins to its end, looking every tenth of a second at the cancel
    // flag and at `stalled()`; either cancels it, and a stall ends it with beast::error::timeout.
    // The stream's own timer (expires_after) ends it too.
    template <class Start, class Stalled>
    error_code run_step(Start&& start, Stalled&& stalled) {
        error_code result = net::error::would_block;
        auto& lowest = beast::get_lowest_layer(stream_);
        start([&result](error_code ec, auto&&...) { result = ec; });
        io_.restart();
        bool stopping = false;
        bool timed_out = false;
        while (!io_.stopped()) {
            io_.run_for(std::chrono::milliseconds(100));
            if (stopping || io_.stopped()) continue;
            if (cancelled_.load()) {
                lowest.cancel();
                stopping = true;
            } else if (stalled()) {
                lowest.cancel();
                stopping = timed_out = true;
            }
        }
        return timed_out && result ? error_code(beast::error::timeout) : result;
    }

    // Reads the socket's count of acknowledged bytes and, when it grew, notes the time. False when
    // the kernel does not count them.
    bool note_acknowledged();

    net::ssl::context ctx_;
    net::io_context io_;
    beast::ssl_stream<beast::tcp_stream> stream_;
    const std::chrono::milliseconds io_timeout_;
    const std::atomic<bool>& cancelled_;
    const std::string where_;
    std::uint64_t acknowledged_ = 0;
    std::chrono::steady_clock::time_point acknowledged_at_ = std::chrono::steady_clock::now();
};

// Runs one transfer (`attempt` fills `out` or throws) and turns how it ended into the outcome the
// public functions return: ok, or the error and whether to try again. A transfer ended by a cancel
// says so, whatever error the cancel caused on the way, and is not worth retrying. `what` names
// it in that sentence ("the upload to <url>"; the URL with its query left out).
template <class Outcome, class Attempt>
void run_transfer(const std::string& what, const std::atomic<bool>& cancelled, Outcome& out,
                  Attempt&& attempt) {
    try {
        attempt();
        out.ok = true;
    } catch (const Failure& f) {
        out.error = f.what();
        out.retryable = f.retryable();
    } catch (const std::exception& e) {  // a bad URL, a file system error
        out.error = e.what();
    }
    if (!out.ok && cancelled.load()) {
        out.error = what + " was cancelled";
        out.retryable = false;
    }
}

}  // namespace iotgw::plugins::https::detail
