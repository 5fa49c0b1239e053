// parse_https_url: what a download takes from a URL, and each refusal with its reason.
#include <iotgw/plugins/https/https_url.hpp>
#include <iotgw/sdk/errors.hpp>

#include <gtest/gtest.h>

namespace iotgw::plugins::https {
namespace {

std::string refusal(const std::string& url) {
    try {
        (void)parse_https_url(url);
        return "taken";
    } catch (const sdk::Error& e) {
        return e.what();
    }
}

TEST(HttpsUrl, APresignedS3UrlIsTakenWithItsQuery) {
    const auto u = parse_https_url(
        "https://amr-packages.s3.ap-northeast-1.amazonaws.com/iotgw_0.2.0_arm64.deb?X-Amz-Signature=abc%2F&x=1#frag");
    EXPECT_EQ(u.host, "amr-packages.s3.ap-northeast-1.amazonaws.com");
    EXPECT_EQ(u.port, "443");
    EXPECT_EQ(u.target, "/iotgw_0.2.0_arm64.deb?X-Amz-Signature=abc%2F&x=1");
    EXPECT_FALSE(u.host_is_ip);
    EXPECT_EQ(u.authority(), "amr-packages.s3.ap-northeast-1.amazonaws.com");
}

TEST(HttpsUrl, PortsAndAddresses) {
    auto u = parse_https_url("https://127.0.0.1:8443");
    EXPECT_EQ(u.host, "127.0.0.1");
    EXPECT_EQ(u.port, "8443");
    EXPECT_EQ(u.target, "/");
    EXPECT_TRUE(u.host_is_ip);
    EXPECT_EQ(u.authority(), "127.0.0.1:8443");
    u = parse_https_url("https://[::1]:9443/a?b");
    EXPECT_EQ(u.host, "::1");
    EXPECT_EQ(u.target, "/a?b");
    EXPECT_EQ(u.authority(), "[::1]:9443");
    EXPECT_EQ(parse_https_url("https://h?q=1").target, "/?q=1");
}

TEST(HttpsUrl, EachRefusalSaysWhy) {
    const struct {
        const char* url;
        const char* why;
    } cases[] = {
        {"http://example.com/a", "is not https://"},
        {"ftp://example.com/a", "is not https://"},
        {"https://user:pw@example.com/a", "holds user information"},
        {"https:///a", "has no host"},
        {"https://example.com:0/a", "not a number from 1 to 65535"},
        {"https://example.com:65536/a", "not a number from 1 to 65535"},
        {"https://example.com:/a", "not a number from 1 to 65535"},
        {"https://example.com:8x/a", "not a number from 1 to 65535"},
        {"https://[::1/a", "without its closing"},
        {"https://::1/a", "without brackets"},
        {"https://example.com/a b", "a space or a control character"},
    };
    for (const auto& c : cases) EXPECT_NE(refusal(c.url).find(c.why), std::string::npos) << c.url << ": " << refusal(c.url);
}

TEST(HttpsUrl, TheQueryIsNeverShown) {
    EXPECT_EQ(redacted("https://b.s3.amazonaws.com/k?X-Amz-Signature=secret"), "https://b.s3.amazonaws.com/k");
    EXPECT_EQ(refusal("http://b/k?X-Amz-Signature=secret").find("secret"), std::string::npos);
}

}  // namespace
}  // namespace iotgw::plugins::https
