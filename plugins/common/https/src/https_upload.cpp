#include "https_session.hpp"

#include <iotgw/plugins/https/https_upload.hpp>
#include <iotgw/plugins/https/https_url.hpp>

#include <boost/beast/http.hpp>

#include <optional>

namespace iotgw::plugins::https {
namespace {

using detail::error_code;
using detail::Failure;
using detail::reason;
using detail::Session;
namespace http = boost::beast::http;

// What an answer's body may hold that is worth a log line (S3 says why in an XML <Code>).
constexpr size_t kMaxAnswerBody = 4096;
// The most handed to TLS in one write: the serializer does not copy the body, so the pieces are
// what bounds the buffers of one write.
constexpr std::size_t kWritePiece = 64 * 1024;

std::string s3_code(const std::string& body) {
    const auto open = body.find("<Code>");
    const auto close = body.find("</Code>");
    if (open == std::string::npos || close == std::string::npos || close <= open) return {};
    return body.substr(open + 6, std::min<size_t>(close - open - 6, 80));
}

void run(const UploadRequest& rq, const std::atomic<bool>& cancelled, UploadOutcome& out) {
    const HttpsUrl url = parse_https_url(rq.url);
    Session session(url, rq.ca_file, rq.io_timeout, cancelled);
    auto& stream = session.stream();

    // The body is sent from the caller's string, not copied (it may be many megabytes).
    using Body = http::span_body<char const>;
    http::request<Body> req{http::verb::put, url.target, 11};
    req.set(http::field::host, url.authority());
    req.set(http::field::user_agent, "iotgw");
    if (!rq.content_type.empty()) req.set(http::field::content_type, rq.content_type);
    req.body() = Body::value_type(rq.body.data(), rq.body.size());
    req.prepare_payload();  // Content-Length, never chunked
    // In pieces; the timeout counts from the last bytes the server took, through the pieces and
    // the wait for the answer: a slow but working uplink (a robot's LTE) is never cut off, one
    // that takes nothing for the timeout is.
    http::request_serializer<Body> serializer(req);
    serializer.limit(kWritePiece);
    error_code ec;
    while (!ec && !serializer.is_done())
        ec = session.step_while_acknowledged(
            [&](auto h) { http::async_write_some(stream, serializer, std::move(h)); });
    const bool sent = !ec;
    const std::string send_error = ec ? reason(ec) : std::string();

    // The answer. A server may refuse before it has read the whole body (S3's 403 for an expired
    // URL) and close: its answer is still read. Interim 1xx answers are skipped.
    boost::beast::flat_buffer buffer;
    std::optional<http::response_parser<http::string_body>> parser;
    for (int interim = 0; interim < 5; ++interim) {
        parser.emplace();
        parser->body_limit(kMaxAnswerBody);
        ec = session.step_while_acknowledged(
            [&](auto h) { http::async_read(stream, buffer, *parser, std::move(h)); });
        if (!parser->is_header_done() || parser->get().result_int() >= 200) break;
    }
    // An answer whose body is over the limit still has its status.
    if (!parser->is_header_done() || parser->get().result_int() < 200) {
        if (!sent) throw Failure("cannot send the upload to " + session.where() + ": " + send_error, true);
        throw Failure("no answer to the upload from " + session.where() + ": " + reason(ec), true);
    }
    const auto& res = parser->get();
    out.http_status = static_cast<int>(res.result_int());
    if (out.http_status < 200 || out.http_status > 299) {
        const bool retry = out.http_status >= 500 || out.http_status == 429 || out.http_status == 408;
        const std::string code = s3_code(res.body());
        throw Failure("the server " + session.where() + " answered the upload with HTTP " +
                          std::to_string(out.http_status) + " " + std::string(res.reason()) +
                          (code.empty() ? std::string() : " (" + code + ")") +
                          (out.http_status == 403 ? "; an expired presigned URL?" : ""),
                      retry);
    }
    if (!ec && sent) session.shutdown();
    if (!sent)  // a 2xx before the whole body went: not an upload that can be trusted
        throw Failure("the upload to " + session.where() + " broke off: " + send_error, true);
}

}  // namespace

UploadOutcome upload(const UploadRequest& request, const std::atomic<bool>& cancelled) {
    UploadOutcome out;
    detail::run_transfer("the upload to " + redacted(request.url), cancelled, out,
                         [&] { run(request, cancelled, out); });
    return out;
}

}  // namespace iotgw::plugins::https
