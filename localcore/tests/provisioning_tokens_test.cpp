// Certificate ownership tokens: randomness, expiry boundary, single removal, persistence.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <limits>
#include <set>

#include <sys/stat.h>

#include "atomic_file.hpp"
#include "provisioning.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;
using iotgw::test::TempDir;
using localcore::OwnershipTokenStore;
using ::testing::HasSubstr;

const std::string kCertA(64, 'a');
const std::string kCertB(64, 'b');

TEST(OwnershipTokens, TokensAreRandom32ByteBase64) {
    TempDir dir;
    OwnershipTokenStore store(dir.path() / "provisioning" / "tokens.json");
    std::set<std::string> seen;
    for (int i = 0; i < 20; ++i) {
        auto token = store.issue(kCertA, 1000);
        EXPECT_EQ(token.size(), 44u);  // base64 of 32 bytes
        EXPECT_EQ(
            token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="),
            std::string::npos);
        seen.insert(token);
    }
    EXPECT_EQ(seen.size(), 20u);
    EXPECT_EQ(store.size(), 20u);
}

TEST(OwnershipTokens, ValidUntilExpiryExclusive) {
    TempDir dir;
    OwnershipTokenStore store(dir.path() / "tokens.json");
    const auto token = store.issue(kCertA, 5000);
    auto found = store.find(token, 4999);
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->certificate_id, kCertA);
    EXPECT_FALSE(store.expired(token, 4999));
    EXPECT_FALSE(store.find(token, 5000).has_value());
    EXPECT_TRUE(store.expired(token, 5000));
    EXPECT_FALSE(store.find("not-a-token", 0).has_value());
    EXPECT_FALSE(store.expired("not-a-token", 99999));
}

TEST(OwnershipTokens, RemoveMakesATokenUnknown) {
    TempDir dir;
    OwnershipTokenStore store(dir.path() / "tokens.json");
    const auto a = store.issue(kCertA, 5000);
    const auto b = store.issue(kCertB, 6000);
    store.remove(a);
    EXPECT_FALSE(store.find(a, 0).has_value());
    EXPECT_TRUE(store.find(b, 0).has_value());
    store.remove(a);  // removing twice is harmless
    EXPECT_EQ(store.size(), 1u);
}

TEST(OwnershipTokens, OnlyHashesArePersistedAndTheyReload) {
    TempDir dir;
    const auto file = dir.path() / "provisioning" / "tokens.json";
    std::string a, b;
    {
        OwnershipTokenStore store(file);
        a = store.issue(kCertA, 5000);
        b = store.issue(kCertB, 7000);
        store.remove(b);
    }
    const auto text = localcore::read_file(file);
    EXPECT_THAT(text, ::testing::Not(HasSubstr(a)));
    EXPECT_THAT(text, HasSubstr(kCertA));
    struct stat st {};
    ASSERT_EQ(::stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    ASSERT_EQ(::stat(file.parent_path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);

    OwnershipTokenStore reloaded(file);
    EXPECT_EQ(reloaded.size(), 1u);
    ASSERT_TRUE(reloaded.find(a, 0).has_value());
    EXPECT_EQ(reloaded.find(a, 0)->certificate_id, kCertA);
    EXPECT_FALSE(reloaded.find(b, 0).has_value());
    EXPECT_EQ(reloaded.next_expiry_ms(), 5000);
}

TEST(OwnershipTokens, ExpiredEntriesAndRemoval) {
    TempDir dir;
    OwnershipTokenStore store(dir.path() / "tokens.json");
    EXPECT_EQ(store.next_expiry_ms(), std::numeric_limits<std::int64_t>::max());
    const auto a = store.issue(kCertA, 5000);
    const auto b = store.issue(kCertB, 9000);
    EXPECT_EQ(store.next_expiry_ms(), 5000);
    EXPECT_TRUE(store.expired_entries(4999).empty());
    auto expired = store.expired_entries(5000);
    ASSERT_EQ(expired.size(), 1u);
    EXPECT_EQ(expired[0].certificate_id, kCertA);
    EXPECT_EQ(store.size(), 2u);  // only listed
    store.remove_expired(5000);
    EXPECT_EQ(store.size(), 1u);
    EXPECT_FALSE(store.expired(a, 5000));  // gone, not merely expired
    EXPECT_EQ(store.next_expiry_ms(), 9000);
    EXPECT_TRUE(store.find(b, 5000).has_value());
    store.remove_expired(9000);
    EXPECT_EQ(store.size(), 0u);
    EXPECT_EQ(OwnershipTokenStore(dir.path() / "tokens.json").size(), 0u);
}

TEST(OwnershipTokens, ACorruptFileIsRefused) {
    TempDir dir;
    const auto file = dir.path() / "tokens.json";
    for (const char* text :
         {"{", "[]", R"({"tokens": {}})",
          R"({"tokens": [{"tokenSha256": "short", "certificateId": "x", "expiresMs": 1}]})",
          R"({"tokens": [{"certificateId": "x", "expiresMs": 1}]})"}) {
        localcore::write_file_atomic(file, text);
        try {
            OwnershipTokenStore store(file);
            ADD_FAILURE() << "accepted: " << text;
        } catch (const localcore::Error& e) {
            EXPECT_THAT(e.what(), HasSubstr(file.string() + " is corrupt"));
        }
    }
}

}  // namespace
