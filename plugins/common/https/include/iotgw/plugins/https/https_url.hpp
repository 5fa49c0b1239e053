// An https:// URL taken apart for one request: host, port and the request target. Only what a
// download or upload to S3 (or a site's own server) needs; anything else is refused with the
// reason, before a connection is opened.
#pragma once

#include <string>
#include <string_view>

namespace iotgw::plugins::https {

struct HttpsUrl {
    std::string host;    // a DNS name, or an IP address (IPv6 without its brackets)
    std::string port;    // "443" when the URL names none
    std::string target;  // path and query, starting with '/'; the fragment is dropped
    bool host_is_ip = false;

    // For the Host header: the host, bracketed for IPv6, with ":port" unless it is 443.
    std::string authority() const;
};

// Throws sdk::Error ("the URL ...: <why>") for anything but https://host[:port][/path][?query]:
// another scheme, user info, an empty host, a bad port, spaces or control characters. The
// message never repeats the query (a presigned URL's signature).
HttpsUrl parse_https_url(std::string_view url);

// The URL without its query, for log lines and error messages.
std::string redacted(std::string_view url);

}  // namespace iotgw::plugins::https
