// `iotgw update verify`: the check of a package against its job document and the site's keys,
// with keys and signatures made by the openssl command as docs/remote-jobs.md tells an operator
// to make them (so the procedure and the gateway agree), and every refusal's sentence.
#include "child_process.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

namespace iotgw::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class UpdateVerifyTest : public ::testing::Test {
protected:
    void SetUp() override {
        fs::create_directories(keys);
        ::chmod(keys.c_str(), 0755);
        std::ofstream(package, std::ios::binary) << "!<arch>\nnot really a package, but bytes to sign\n";
        make_key("site");
        shell("openssl pkey -in " + (dir.path() / "site.key").string() + " -pubout -out " +
              (keys / "site.pem").string());
        ::chmod((keys / "site.pem").c_str(), 0644);
    }

    std::string shell(const std::string& command) {
        ChildProcess p({"/bin/sh", "-c", command}, dir.path() / ("sh-" + std::to_string(++shells) + ".log"));
        EXPECT_EQ(p.wait_exit(30s), 0) << command << "\n" << p.log();
        return p.log();
    }

    void make_key(const std::string& name) {
        shell("openssl ecparam -name prime256v1 -genkey -noout -out " +
              (dir.path() / (name + ".key")).string());
    }

    // The document an operator writes: size from stat, digest from sha256sum, signature from
    // openssl dgst -sign, base64 on one line.
    fs::path document(const std::string& key_name, const std::string& version = "1.4.0") {
        const std::string pkg = package.string();
        const std::string sig = (dir.path() / "sig.der").string();
        shell("openssl dgst -sha256 -sign " + (dir.path() / (key_name + ".key")).string() + " -out " + sig +
              " " + pkg);
        auto trim = [](std::string s) {
            while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
            return s;
        };
        const std::string size = trim(shell("stat -c %s " + pkg));
        const std::string sha = trim(shell("sha256sum " + pkg + " | cut -d' ' -f1"));
        const std::string b64 = trim(shell("base64 -w0 " + sig));
        const fs::path out = dir.path() / "job.json";
        std::ofstream(out, std::ios::trunc)
            << R"({"operation":"package","url":"https://bucket.s3.ap-northeast-1.amazonaws.com/iotgw_)"
            << version << R"(_arm64.deb","version":")" << version << R"(","size":)" << size
            << R"(,"sha256":")" << sha << R"(","signature":")" << b64 << "\"}";
        return out;
    }

    std::pair<int, std::string> verify(const fs::path& doc) {
        ChildProcess p({IOTGW_BINARY, "update", "verify", "--package", package.string(), "--document",
                        doc.string(), "--keys", keys.string()},
                       dir.path() / ("verify-" + std::to_string(++shells) + ".log"));
        const int status = p.wait_exit(10s);
        return {status, p.log()};
    }

    TempDir dir;
    fs::path keys = dir.path() / "update-keys";
    fs::path package = dir.path() / "iotgw_1.4.0_arm64.deb";
    int shells = 0;
};

TEST_F(UpdateVerifyTest, APackageSignedWithTheOpensslCommandVerifies) {
    const auto [status, out] = verify(document("site"));
    EXPECT_EQ(status, 0) << out;
    EXPECT_NE(out.find("verified"), std::string::npos) << out;
    EXPECT_NE(out.find("signed by " + (keys / "site.pem").string() + "; version 1.4.0"), std::string::npos)
        << out;
}

TEST_F(UpdateVerifyTest, EachRefusalSaysWhyAndExitsNonZero) {
    make_key("stranger");
    auto [status, out] = verify(document("stranger"));
    EXPECT_EQ(status, 1) << out;
    EXPECT_NE(out.find("is not by any trusted update key in " + keys.string()), std::string::npos) << out;

    const auto doc = document("site");
    std::ofstream(package, std::ios::app) << "appended after signing";
    std::tie(status, out) = verify(doc);
    EXPECT_EQ(status, 1) << out;
    EXPECT_NE(out.find("bytes, not the"), std::string::npos) << out;

    std::ofstream(dir.path() / "bad.json") << R"({"operation":"package","url":"http://x/p.deb"})";
    std::tie(status, out) = verify(dir.path() / "bad.json");
    EXPECT_EQ(status, 1) << out;
    EXPECT_NE(out.find((dir.path() / "bad.json").string() + ": the job document has no \"version\""),
              std::string::npos)
        << out;

    ChildProcess usage({IOTGW_BINARY, "update", "verify", "--package", package.string()},
                       dir.path() / "usage.log");
    EXPECT_EQ(usage.wait_exit(10s), 2) << usage.log();
    EXPECT_NE(usage.log().find("update verify needs --package FILE.deb and --document JOB.json"),
              std::string::npos);
}

}  // namespace
}  // namespace iotgw::test
