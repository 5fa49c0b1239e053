#include <iotgw/plugins/https/https_url.hpp>
#include <iotgw/sdk/errors.hpp>

#include <arpa/inet.h>

#include <cstdint>

namespace iotgw::plugins::https {
namespace {

[[noreturn]] void refuse(std::string_view url, const std::string& why) {
    throw sdk::Error("the URL " + redacted(url) + " " + why);
}

bool is_ip(const std::string& host) {
    unsigned char buf[16];
    return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

std::string HttpsUrl::authority() const {
    std::string a = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    if (port != "443") a += ":" + port;
    return a;
}

std::string redacted(std::string_view url) {
    const auto q = url.find_first_of("?#");
    std::string shown(url.substr(0, q));
    if (shown.size() > 200) shown = shown.substr(0, 200) + "...";
    for (char& c : shown)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    return shown;
}

HttpsUrl parse_https_url(std::string_view url) {
    constexpr std::string_view kScheme = "https://";
    for (char c : url)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) refuse(url, "holds a space or a control character");
    if (url.size() < kScheme.size() || url.substr(0, kScheme.size()) != kScheme)
        refuse(url, "is not https:// (plain HTTP and other schemes are refused)");
    std::string_view rest = url.substr(kScheme.size());
    if (const auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
    const auto path_at = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, path_at);
    std::string target = path_at == std::string_view::npos ? "/" : std::string(rest.substr(path_at));
    if (target.front() == '?') target.insert(target.begin(), '/');
    if (authority.find('@') != std::string_view::npos) refuse(url, "holds user information (user@host)");

    HttpsUrl u;
    u.port = "443";
    bool has_port = false;
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) refuse(url, "has an IPv6 address without its closing ']'");
        u.host = std::string(authority.substr(1, close - 1));
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') refuse(url, "has something after the IPv6 address that is not a port");
            has_port = true;
            port = after.substr(1);
        }
        if (!is_ip(u.host)) refuse(url, "has an invalid IPv6 address");
    } else {
        const auto colon = authority.find(':');
        if (colon != std::string_view::npos && authority.find(':', colon + 1) != std::string_view::npos)
            refuse(url, "has an IPv6 address without brackets");
        u.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) {
            has_port = true;
            port = authority.substr(colon + 1);
        }
    }
    if (u.host.empty()) refuse(url, "has no host");
    if (has_port) {
        uint32_t value = 0;
        for (char c : port) {
            if (c < '0' || c > '9' || value > 65535) refuse(url, "has a port that is not a number from 1 to 65535");
            value = value * 10 + static_cast<uint32_t>(c - '0');
        }
        if (port.empty() || value == 0 || value > 65535)
            refuse(url, "has a port that is not a number from 1 to 65535");
        u.port = std::to_string(value);
    }
    u.host_is_ip = is_ip(u.host);
    u.target = std::move(target);
    return u;
}

}  // namespace iotgw::plugins::https
