// HTTPS downloads against a real TLS server on a loopback port (tests/process/https_test_server.py
// with the development PKI): the file arrives whole with its SHA-256, an interrupted download
// resumes with a Range request, and every refusal (size, trust, host name, HTTP status,
// cancellation) says why and leaves no finished file.
#include "https_server_fixture.hpp"

#include <iotgw/plugins/https/https_download.hpp>

#include <iotgw/core/sha256.hpp>

#include <gtest/gtest.h>

#include <array>
#include <fstream>
#include <thread>

namespace iotgw::plugins::https {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class HttpsDownloadTest : public HttpsServerTest {
protected:
    DownloadRequest request(const std::string& path_and_query, uint64_t max_bytes = 1'000'000) const {
        DownloadRequest r;
        r.url = base + path_and_query;
        r.path = (dir.path() / "out.deb").string();
        r.max_bytes = max_bytes;
        r.ca_file = pki.ca.string();
        r.io_timeout = 5s;
        return r;
    }

    DownloadOutcome get(const DownloadRequest& r) { return download(r, cancelled); }
};

TEST_F(HttpsDownloadTest, AFileArrivesWholeWithItsSha256) {
    std::vector<uint64_t> seen;
    const auto out = download(request("/package.deb"), cancelled, [&](uint64_t done, uint64_t total) {
        seen.push_back(done);
        EXPECT_EQ(total, content.size());
    });
    ASSERT_TRUE(out.ok) << out.error;
    EXPECT_EQ(out.http_status, 200);
    EXPECT_EQ(out.bytes, content.size());
    EXPECT_EQ(out.resumed_from, 0u);
    EXPECT_EQ(out.sha256, iotgw::core::sha256_hex(content));
    EXPECT_EQ(test::read_text_file(dir.path() / "out.deb"), content);
    EXPECT_FALSE(fs::exists(dir.path() / "out.deb.part"));
    ASSERT_FALSE(seen.empty());
    EXPECT_EQ(seen.back(), content.size());
}

TEST_F(HttpsDownloadTest, AnInterruptedDownloadResumesWhereItBrokeOff) {
    auto out = get(request("/package.deb?drop_after=100000"));
    ASSERT_FALSE(out.ok);
    EXPECT_TRUE(out.retryable) << out.error;
    EXPECT_NE(out.error.find("broke off after 100000 bytes"), std::string::npos) << out.error;
    EXPECT_FALSE(fs::exists(dir.path() / "out.deb"));
    EXPECT_EQ(fs::file_size(dir.path() / "out.deb.part"), 100000u);

    out = get(request("/package.deb"));
    ASSERT_TRUE(out.ok) << out.error;
    EXPECT_EQ(out.http_status, 206);
    EXPECT_EQ(out.resumed_from, 100000u);
    EXPECT_EQ(out.sha256, iotgw::core::sha256_hex(content));
    EXPECT_EQ(test::read_text_file(dir.path() / "out.deb"), content);
    EXPECT_TRUE(server->wait_for("GET /package.deb range=bytes=100000-", 1s)) << server->log();
}

TEST_F(HttpsDownloadTest, AServerThatIgnoresTheRangeIsReadFromTheStart) {
    ASSERT_FALSE(get(request("/package.deb?drop_after=5000")).ok);
    const auto out = get(request("/package.deb?ignore_range=1"));
    ASSERT_TRUE(out.ok) << out.error;
    EXPECT_EQ(out.resumed_from, 0u);
    EXPECT_EQ(out.sha256, iotgw::core::sha256_hex(content));
}

TEST_F(HttpsDownloadTest, AResumeAtAnotherOffsetIsDiscardedAndStartsOver) {
    ASSERT_FALSE(get(request("/package.deb?drop_after=5000")).ok);
    auto out = get(request("/package.deb?wrong_range=1"));
    ASSERT_FALSE(out.ok);
    EXPECT_TRUE(out.retryable);
    EXPECT_NE(out.error.find("resumed at another offset"), std::string::npos) << out.error;
    EXPECT_FALSE(fs::exists(dir.path() / "out.deb.part"));
    out = get(request("/package.deb"));
    ASSERT_TRUE(out.ok) << out.error;
    EXPECT_EQ(out.sha256, iotgw::core::sha256_hex(content));
}

TEST_F(HttpsDownloadTest, AFileLargerThanTheLimitIsRefusedBeforeItIsRead) {
    const auto out = get(request("/package.deb", 1000));
    ASSERT_FALSE(out.ok);
    EXPECT_FALSE(out.retryable);
    EXPECT_NE(out.error.find("is 300000 bytes; at most 1000 are taken"), std::string::npos) << out.error;
    EXPECT_FALSE(fs::exists(dir.path() / "out.deb"));
}

TEST_F(HttpsDownloadTest, AServerSignedByAnotherCaIsNotTrusted) {
    pki.device("stranger", "--ca other");  // makes the unrelated CA other-ca.pem
    auto r = request("/package.deb");
    r.ca_file = (pki.dir / "other-ca.pem").string();
    const auto out = get(r);
    ASSERT_FALSE(out.ok);
    EXPECT_FALSE(out.retryable);
    EXPECT_NE(out.error.find("is not trusted"), std::string::npos) << out.error;
    EXPECT_FALSE(fs::exists(dir.path() / "out.deb.part"));
}

// The server certificate names localhost and 127.0.0.1; the same server reached as 127.0.0.2 is
// refused, as a man in the middle with a certificate for another name would be.
TEST_F(HttpsDownloadTest, AServerWhoseCertificateNamesAnotherHostIsRefused) {
    start_server("127.0.0.2");
    const auto out = get(request("/package.deb"));
    ASSERT_FALSE(out.ok);
    EXPECT_NE(out.error.find("is not trusted"), std::string::npos) << out.error;
}

TEST_F(HttpsDownloadTest, HttpErrorsSayWhetherTryingAgainCanHelp) {
    auto out = get(request("/missing.deb"));
    EXPECT_FALSE(out.ok);
    EXPECT_EQ(out.http_status, 404);
    EXPECT_FALSE(out.retryable);
    out = get(request("/package.deb?status=403"));
    EXPECT_NE(out.error.find("HTTP 403"), std::string::npos) << out.error;
    EXPECT_NE(out.error.find("expired presigned URL"), std::string::npos) << out.error;
    out = get(request("/package.deb?status=503"));
    EXPECT_EQ(out.http_status, 503);
    EXPECT_TRUE(out.retryable);
    // The query (a presigned URL's signature) never appears in a message.
    EXPECT_EQ(out.error.find("status=503"), std::string::npos) << out.error;
}

// A server that stops sending in the middle: a cancel ends the download within a fraction of a
// second, not at the read timeout, so a gateway that stops or reloads is never held up by it.
TEST_F(HttpsDownloadTest, ACancelEndsADownloadStalledInARead) {
    auto rq = request("/package.deb?stall_after=1000");
    rq.io_timeout = 30s;
    std::thread canceller([&] {
        std::this_thread::sleep_for(500ms);
        cancelled = true;
    });
    const auto started = std::chrono::steady_clock::now();
    const auto out = get(rq);
    const auto took = std::chrono::steady_clock::now() - started;
    canceller.join();
    EXPECT_FALSE(out.ok);
    EXPECT_FALSE(out.retryable);
    EXPECT_NE(out.error.find("cancelled"), std::string::npos) << out.error;
    EXPECT_EQ(out.error.find("stall_after"), std::string::npos) << "the query is never shown: " << out.error;
    EXPECT_LT(took, 10s) << "the cancel waited for the read timeout";
    EXPECT_FALSE(fs::exists(rq.path));
}

TEST_F(HttpsDownloadTest, ACancelledDownloadStopsAndKeepsWhatArrivedForLater) {
    const auto out = download(request("/package.deb"), cancelled, [&](uint64_t, uint64_t) { cancelled = true; });
    ASSERT_FALSE(out.ok);
    EXPECT_NE(out.error.find("cancelled"), std::string::npos) << out.error;
    EXPECT_FALSE(fs::exists(dir.path() / "out.deb"));
    EXPECT_TRUE(fs::exists(dir.path() / "out.deb.part"));
}

TEST_F(HttpsDownloadTest, NothingListeningIsARetryableNetworkFailure) {
    server.reset();  // killed: its port is closed now
    const auto out = get(request("/package.deb"));
    ASSERT_FALSE(out.ok);
    EXPECT_TRUE(out.retryable);
    EXPECT_NE(out.error.find("cannot connect to 127.0.0.1:"), std::string::npos) << out.error;
}

}  // namespace
}  // namespace iotgw::plugins::https
