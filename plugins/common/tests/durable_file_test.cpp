// write_file_atomic writes keys: whatever sits at its temporary path beforehand (a hard link, a
// symlink, a file someone still holds open) must never receive the content, and the file must
// never be more open than the mode asked for.
#include "test_support.hpp"

#include <iotgw/plugins/common/durable_file.hpp>
#include <iotgw/sdk/errors.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace iotgw::test {
namespace {

namespace fs = std::filesystem;
using plugins::common::write_file_atomic;

constexpr const char* kKey = "-----BEGIN PRIVATE KEY-----\nsecret\n-----END PRIVATE KEY-----\n";

mode_t mode_of(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
}

class DurableFileTest : public ::testing::Test {
protected:
    TempDir dir;
    fs::path key = dir.path() / "device.key";
    fs::path tmp = dir.path() / "device.key.tmp";
};

TEST_F(DurableFileTest, WritesTheContentWithExactlyTheModeAskedFor) {
    const mode_t old_umask = ::umask(0077);
    write_file_atomic(key.string(), kKey, 0640);
    ::umask(old_umask);
    EXPECT_EQ(read_text_file(key), kKey);
    EXPECT_EQ(mode_of(key), 0640u);
    EXPECT_FALSE(fs::exists(fs::symlink_status(tmp)));
}

// Someone who could write the directory once left a hard link to the temporary name, hoping the
// next key written through it lands in a file they keep.
TEST_F(DurableFileTest, AHardLinkLeftAtTheTemporaryPathDoesNotReceiveTheKey) {
    const fs::path kept = dir.write("kept-by-someone-else", "old");
    fs::create_hard_link(kept, tmp);
    const mode_t kept_mode = mode_of(kept);
    write_file_atomic(key.string(), kKey, 0600);
    EXPECT_EQ(read_text_file(kept), "old");
    EXPECT_EQ(read_text_file(key), kKey);
    EXPECT_EQ(mode_of(key), 0600u);
    EXPECT_EQ(mode_of(kept), kept_mode);  // its mode untouched too
}

TEST_F(DurableFileTest, ASymlinkLeftAtTheTemporaryPathIsNotFollowed) {
    const fs::path target = dir.path() / "elsewhere";
    fs::create_symlink(target, tmp);
    write_file_atomic(key.string(), kKey, 0600);
    EXPECT_FALSE(fs::exists(fs::symlink_status(target))) << "the write followed the symlink";
    EXPECT_EQ(read_text_file(key), kKey);
}

// A descriptor opened on an earlier temporary file (e.g. by a process that raced an earlier
// write) must not see the new key: the key goes into a new file, not into the old inode.
TEST_F(DurableFileTest, ADescriptorStillOpenOnAnOldTemporaryFileDoesNotSeeTheKey) {
    dir.write("device.key.tmp", "");
    const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    write_file_atomic(key.string(), kKey, 0600);
    char buf[256];
    const ssize_t n = ::pread(fd, buf, sizeof buf, 0);
    ::close(fd);
    EXPECT_EQ(n, 0) << "the old temporary file now holds: "
                    << std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
    EXPECT_EQ(read_text_file(key), kKey);
}

// A world-readable leftover must not lend its mode to the key for a moment: the key's file is
// created with the asked mode (0600), never opened with a wider one and narrowed afterwards.
TEST_F(DurableFileTest, AWorldReadableLeftoverDoesNotLendItsModeToTheKey) {
    dir.write("device.key.tmp", "");
    fs::permissions(tmp, fs::perms(0666));
    const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);  // opened while it was world-readable
    ASSERT_GE(fd, 0);
    write_file_atomic(key.string(), kKey, 0600);
    struct stat old_inode {};
    ASSERT_EQ(::fstat(fd, &old_inode), 0);
    ::close(fd);
    struct stat key_inode {};
    ASSERT_EQ(::stat(key.c_str(), &key_inode), 0);
    EXPECT_NE(old_inode.st_ino, key_inode.st_ino) << "the key was written into the world-readable leftover";
    EXPECT_EQ(key_inode.st_mode & 07777, 0600u);
}

}  // namespace
}  // namespace iotgw::test
