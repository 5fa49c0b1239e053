#include "https_session.hpp"

#include <iotgw/plugins/https/https_upload.hpp>
#include <iotgw/plugins/https/https_url.hpp>

#include <boost/beast/http.hpp>

namespace iotgw::plugins::https {
namespace {

using detail::error_code;
using detail::Failure;
using detail::reason;
using detail::Session;
namespace http = boost::beast::http;

// What an answer's body may hold that is worth a log line (S3 says why in an XML <Code>).
constexpr size_t kMaxAnswerBody = 4096;

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

    http::request<http::string_body> req{http::verb::put, url.target, 11};
    req.set(http::field::host, url.authority());
    req.set(http::field::user_agent, "iotgw");
    if (!rq.content_type.empty()) req.set(http::field::content_type, rq.content_type);
    req.body() = rq.body;
    req.prepare_payload();  // Content-Length, never chunked
    error_code ec = session.step([&](auto h) { http::async_write(stream, req, std::move(h)); });
    if (ec) throw Failure("cannot send the upload to " + session.where() + ": " + reason(ec), true);

    boost::beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxAnswerBody);
    ec = session.step([&](auto h) { http::async_read(stream, buffer, parser, std::move(h)); });
    // An answer whose body is over the limit still has its status.
    if (ec && ec != http::error::body_limit) {
        if (!parser.is_header_done())
            throw Failure("no answer to the upload from " + session.where() + ": " + reason(ec), true);
    }
    const auto& res = parser.get();
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
    if (!ec) session.shutdown();
}

}  // namespace

UploadOutcome upload(const UploadRequest& request, const std::atomic<bool>& cancelled) {
    UploadOutcome out;
    try {
        run(request, cancelled, out);
        out.ok = true;
    } catch (const Failure& f) {
        out.error = f.what();
        out.retryable = f.retryable();
    } catch (const std::exception& e) {  // a bad URL
        out.error = e.what();
    }
    if (!out.ok && cancelled.load()) {
        out.error = "the upload to " + redacted(request.url) + " was cancelled";
        out.retryable = false;
    }
    return out;
}

}  // namespace iotgw::plugins::https
