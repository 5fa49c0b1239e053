// iotgw::digest: the SHA-256 every pinned file goes through (FIPS 180-2 test vectors).
#include "test_support.hpp"

#include <iotgw/core/sha256.hpp>

#include <gtest/gtest.h>

#include <fstream>

namespace iotgw::core {
namespace {

constexpr const char* kAbc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr const char* kEmpty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr const char* kMillionA = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

TEST(Sha256, KnownVectorsAtOnceAndStreamed) {
    EXPECT_EQ(sha256_hex("abc"), kAbc);
    EXPECT_EQ(sha256_hex(""), kEmpty);
    Sha256 streamed;
    const std::string a(1000, 'a');
    for (int i = 0; i < 1000; ++i) streamed.update(a.data(), a.size());
    EXPECT_EQ(streamed.hex(), kMillionA);
}

TEST(Sha256, AFileIsReadInChunksAndAMissingOneNamed) {
    test::TempDir dir;
    const auto path = dir.path() / "million-a";
    std::ofstream(path, std::ios::binary) << std::string(1'000'000, 'a');
    EXPECT_EQ(sha256_file_hex(path.string()), kMillionA);
    size_t chunks = 0, bytes = 0;
    read_file_chunks(path.string(), [&](const unsigned char*, size_t n) {
        ++chunks;
        bytes += n;
    });
    EXPECT_EQ(bytes, 1'000'000u);
    EXPECT_GT(chunks, 1u);
    try {
        sha256_file_hex((dir.path() / "missing").string());
        FAIL() << "no exception";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("cannot read " + (dir.path() / "missing").string()),
                  std::string::npos);
    }
}

}  // namespace
}  // namespace iotgw::core
