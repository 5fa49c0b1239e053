// HTTPS uploads (PUT, as to a presigned S3 URL) against a real TLS server on a loopback port: the
// body arrives whole with its Content-Length and type, and every refusal (HTTP status, trust,
// a server that never answers, cancellation) says why and whether trying again may help.
#include "https_server_fixture.hpp"

#include <iotgw/plugins/https/https_upload.hpp>

#include <gtest/gtest.h>

#include <thread>

namespace iotgw::plugins::https {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class HttpsUploadTest : public HttpsServerTest {
protected:
    UploadRequest request(const std::string& path_and_query, std::string body) const {
        UploadRequest r;
        r.url = base + path_and_query;
        r.body = std::move(body);
        r.content_type = "text/plain; charset=utf-8";
        r.ca_file = pki.ca.string();
        r.io_timeout = 5s;
        return r;
    }
};

TEST_F(HttpsUploadTest, TheBodyArrivesWholeWithItsLengthAndType) {
    const auto out = upload(request("/logs/AMR-001/job-1.log?X-Amz-Signature=secret", content), cancelled);
    ASSERT_TRUE(out.ok) << out.error;
    EXPECT_EQ(out.http_status, 200);
    EXPECT_EQ(test::read_text_file(dir.path() / "www" / "logs" / "AMR-001" / "job-1.log"), content);
    EXPECT_TRUE(
        server->wait_for("PUT /logs/AMR-001/job-1.log bytes=300000 type=text/plain; charset=utf-8", 1s))
        << server->log();
}

TEST_F(HttpsUploadTest, AnEmptyBodyIsSentWithALengthOfZero) {
    const auto out = upload(request("/empty.log", ""), cancelled);
    ASSERT_TRUE(out.ok) << out.error;
    EXPECT_TRUE(fs::exists(dir.path() / "www" / "empty.log"));
    EXPECT_EQ(fs::file_size(dir.path() / "www" / "empty.log"), 0u);
}

TEST_F(HttpsUploadTest, ARefusalGivesTheStatusAndS3sCodeButNeverTheQuery) {
    const auto out = upload(request("/x.log?status=403&X-Amz-Signature=secret", "a"), cancelled);
    ASSERT_FALSE(out.ok);
    EXPECT_FALSE(out.retryable) << out.error;
    EXPECT_EQ(out.http_status, 403);
    EXPECT_NE(out.error.find("HTTP 403"), std::string::npos) << out.error;
    EXPECT_NE(out.error.find("(AccessDenied)"), std::string::npos) << out.error;
    EXPECT_NE(out.error.find("expired presigned URL"), std::string::npos) << out.error;
    EXPECT_EQ(out.error.find("secret"), std::string::npos) << out.error;
    EXPECT_FALSE(fs::exists(dir.path() / "www" / "x.log"));
}

TEST_F(HttpsUploadTest, AServerErrorMayBeTriedAgain) {
    const auto out = upload(request("/x.log?status=503", "a"), cancelled);
    ASSERT_FALSE(out.ok);
    EXPECT_TRUE(out.retryable) << out.error;
    EXPECT_EQ(out.http_status, 503);
}

TEST_F(HttpsUploadTest, AServerSignedByAnotherCaIsNotTrustedAndGetsNothing) {
    pki.device("stranger", "--ca other");  // makes the unrelated CA other-ca.pem
    auto r = request("/x.log", "secret journal");
    r.ca_file = (pki.dir / "other-ca.pem").string();
    const auto out = upload(r, cancelled);
    ASSERT_FALSE(out.ok);
    EXPECT_FALSE(out.retryable);
    EXPECT_NE(out.error.find("is not trusted"), std::string::npos) << out.error;
    EXPECT_EQ(server->log().find("PUT"), std::string::npos) << server->log();
}

// 16 MiB read by the server 1 MiB every 0.25 s (~4 s in all) with a 1.5 s I/O timeout: the
// timeout bounds each piece written, not the whole body, so a slow uplink still gets through.
// 512 KiB/s against a 1.5 s timeout. The last write returns once its bytes are in the kernel's
// send buffer (megabytes on Linux, over 2 MiB on loopback), so the answer comes seconds after it:
// the wait counts from the last bytes the server took, not from the last write.
TEST_F(HttpsUploadTest, ASlowButSteadyUplinkIsNotCutOffByTheTimeout) {
    std::string big(3 * 1024 * 1024, 'x');
    auto r = request("/big.log?slow_read=131072", big);
    r.io_timeout = 1500ms;
    const auto out = upload(r, cancelled);
    ASSERT_TRUE(out.ok) << out.error;
    EXPECT_EQ(fs::file_size(dir.path() / "www" / "big.log"), big.size());
}

TEST_F(HttpsUploadTest, AnUplinkThatStopsInTheMiddleOfTheBodyEndsInTheTimeout) {
    std::string big(16 * 1024 * 1024, 'x');
    auto r = request("/big.log?read_stall_after=1048576", big);
    r.io_timeout = 1s;
    const auto started = std::chrono::steady_clock::now();
    const auto out = upload(r, cancelled);
    ASSERT_FALSE(out.ok);
    EXPECT_TRUE(out.retryable) << out.error;
    EXPECT_NE(out.error.find("cannot send the upload to 127.0.0.1:"), std::string::npos) << out.error;
    EXPECT_NE(out.error.find("no answer in time"), std::string::npos) << out.error;
    EXPECT_LT(std::chrono::steady_clock::now() - started, 20s);
    EXPECT_FALSE(fs::exists(dir.path() / "www" / "big.log"));
}

TEST_F(HttpsUploadTest, AServerThatNeverAnswersEndsInTheTimeoutAndMayBeTriedAgain) {
    auto r = request("/x.log?stall_after=0", "a");
    r.io_timeout = 1s;
    const auto out = upload(r, cancelled);
    ASSERT_FALSE(out.ok);
    EXPECT_TRUE(out.retryable) << out.error;
    EXPECT_NE(out.error.find("no answer in time"), std::string::npos) << out.error;
}

TEST_F(HttpsUploadTest, ACancelEndsAWaitingUploadWithinATenthOfASecondOrSo) {
    auto r = request("/x.log?stall_after=0", "a");
    r.io_timeout = 30s;
    std::thread stopper([this] {
        std::this_thread::sleep_for(300ms);
        cancelled = true;
    });
    const auto started = std::chrono::steady_clock::now();
    const auto out = upload(r, cancelled);
    stopper.join();
    ASSERT_FALSE(out.ok);
    EXPECT_FALSE(out.retryable);
    EXPECT_NE(out.error.find("was cancelled"), std::string::npos) << out.error;
    // Far below the 30 s timeout: the cancel, not the timer, ended it.
    EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
}

}  // namespace
}  // namespace iotgw::plugins::https
