// Console tokens (lib/console_token.hpp): what the broker accepts as the browser console's MQTT
// password on the websocket listener, and the revocation list. The broker-side checks (client id
// prefix, the token's policy on every operation, websockets only, expiry, revocation and the
// connection duration cap on live connections) are in conformance/console_token_ws_test.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <filesystem>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "atomic_file.hpp"
#include "console_token.hpp"

namespace {

namespace fs = std::filesystem;
using localcore::ConsoleTokenClaims;
using localcore::Error;
using localcore::console_token_revocations;
using localcore::issue_console_token;
using localcore::parse_console_token_id;
using localcore::revoke_console_token;
using localcore::verify_console_token;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr std::int64_t kNow = 1'800'000'000;

class ConsoleTokenTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::random_device rd;
        dir_ = fs::temp_directory_path() / ("localcore-console-token-test-" + std::to_string(rd()));
        fs::create_directories(dir_);
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    std::string issue(std::chrono::seconds lifetime = 1h, std::int64_t now = kNow) {
        return issue_console_token(dir_, "console", "console-", lifetime, now);
    }
    // The error message verify_console_token throws, "" when it accepts the token.
    std::string refusal(const std::string& token, std::int64_t now = kNow + 10) {
        try {
            verify_console_token(dir_, token, now);
            return "";
        } catch (const Error& e) {
            return e.what();
        }
    }
    fs::path dir_;
};

TEST_F(ConsoleTokenTest, AValidTokenCarriesItsClaims) {
    const std::string token = issue();
    EXPECT_TRUE(token.starts_with("lct1."));
    const ConsoleTokenClaims c = verify_console_token(dir_, token, kNow + 10);
    EXPECT_EQ(c.policy, "console");
    EXPECT_EQ(c.client_prefix, "console-");
    EXPECT_EQ(c.issued_at, kNow);
    EXPECT_EQ(c.expires_at, kNow + 3600);
    EXPECT_EQ(c.token_id.size(), 32u);
    // Each token is distinct (its id is random).
    EXPECT_NE(verify_console_token(dir_, issue(), kNow).token_id, c.token_id);
}

TEST_F(ConsoleTokenTest, TheKeyIsCreatedOnceAndPrivate) {
    issue();
    const auto key = localcore::console_token_key_path(dir_);
    struct stat st {};
    ASSERT_EQ(::stat(key.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    const std::string first = localcore::read_file(key);
    issue();
    EXPECT_EQ(localcore::read_file(key), first);
    EXPECT_EQ(first.size(), 65u);  // 64 hex digits + newline
}

TEST_F(ConsoleTokenTest, AnExpiredTokenIsRefused) {
    const std::string token = issue(1h);
    EXPECT_EQ(refusal(token, kNow + 3599), "");
    EXPECT_THAT(refusal(token, kNow + 3600), HasSubstr("console token expired at"));
    EXPECT_THAT(refusal(token, kNow + 86400), HasSubstr("fetch a new one"));
}

TEST_F(ConsoleTokenTest, ATokenFromTheFutureIsRefused) {
    const std::string token = issue(1h, kNow + 3000);
    EXPECT_THAT(refusal(token, kNow), HasSubstr("issued in the future"));
    EXPECT_EQ(refusal(token, kNow + 2950), "");  // within the clock skew allowance
}

// 32 bytes of HMAC are 43 base64url characters whose last one has 2 unused bits: another text
// with those bits set decodes to the same bytes. Only the canonical text is accepted.
TEST_F(ConsoleTokenTest, ANonCanonicalEncodingOfTheSignatureIsRefused) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const std::string token = issue();
    const auto index = std::string(kAlphabet).find(token.back());
    ASSERT_NE(index, std::string::npos);
    ASSERT_EQ(index & 3u, 0u) << "the canonical last character has its unused bits clear";
    std::string same_bytes = token;
    same_bytes.back() = kAlphabet[index | 1u];
    EXPECT_THAT(refusal(same_bytes), HasSubstr("malformed"));
}

TEST_F(ConsoleTokenTest, ABadSignatureIsRefused) {
    const std::string token = issue();
    // The first character of the signature carries 6 bits of it (the last one only 4: see below).
    const auto sig = token.rfind('.') + 1;
    std::string flipped = token;
    flipped[sig] = flipped[sig] == 'A' ? 'B' : 'A';
    EXPECT_THAT(refusal(flipped), HasSubstr("bad signature"));
    // Claims changed (a longer lifetime, another policy) with the old signature.
    const auto dot = token.rfind('.');
    std::string claims = token.substr(5, dot - 5);
    claims[claims.size() / 2] = claims[claims.size() / 2] == 'x' ? 'y' : 'x';
    EXPECT_THAT(refusal("lct1." + claims + token.substr(dot)), HasSubstr("bad signature"));
}

TEST_F(ConsoleTokenTest, AnotherLocalcoresTokenIsRefused) {
    const std::string token = issue();
    fs::remove(localcore::console_token_key_path(dir_));
    issue();  // a new key
    EXPECT_THAT(refusal(token), HasSubstr("bad signature"));
}

TEST_F(ConsoleTokenTest, MalformedTokensAreRefusedWithTheReason) {
    issue();
    EXPECT_THAT(refusal(""), HasSubstr("not a console token"));
    EXPECT_THAT(refusal("hunter2"), HasSubstr("not a console token"));
    EXPECT_THAT(refusal("lct1.abc"), HasSubstr("malformed"));
    EXPECT_THAT(refusal("lct1.a.b.c"), HasSubstr("malformed"));
    EXPECT_THAT(refusal("lct1.a*b.cd"), HasSubstr("not base64url"));
    EXPECT_THAT(refusal("lct1." + std::string(4000, 'A') + ".AA"), HasSubstr("too long"));
}

TEST_F(ConsoleTokenTest, WithoutAKeyNothingVerifies) {
    EXPECT_THAT(refusal("lct1.eyJ2IjoxfQ.AAAA"), HasSubstr("no console token key"));
}

TEST_F(ConsoleTokenTest, IssuingChecksItsArguments) {
    EXPECT_THROW(issue_console_token(dir_, "console", "console-", 30s, kNow), Error);
    EXPECT_THROW(issue_console_token(dir_, "console", "console-", 25h, kNow), Error);
    EXPECT_THROW(issue_console_token(dir_, "", "console-", 1h, kNow), Error);
    for (const char* prefix : {"", "a/b", "a+", "#", "$aws", "x y"})
        EXPECT_THROW(issue_console_token(dir_, "console", prefix, 1h, kNow), Error) << prefix;
    EXPECT_NO_THROW(issue_console_token(dir_, "console", "ops:console_1.", 24h, kNow));
}

// Revocation (`localcore revoke-console-token`): the token is refused from then on, whatever its
// expiry; other tokens are not affected.
TEST_F(ConsoleTokenTest, ARevokedTokenIsRefused) {
    const std::string token = issue();
    const std::string other = issue();
    const std::string id = verify_console_token(dir_, token, kNow).token_id;
    const auto r = revoke_console_token(dir_, id, kNow + 5);
    EXPECT_TRUE(r.newly_revoked);
    EXPECT_EQ(r.token_id, id);
    EXPECT_EQ(r.revoked_at, kNow + 5);
    EXPECT_THAT(refusal(token), HasSubstr("console token " + id + " was revoked at"));
    EXPECT_EQ(refusal(other), "");
    struct stat st {};
    ASSERT_EQ(::stat(localcore::console_token_revocations_path(dir_).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(ConsoleTokenTest, RevokingTwiceKeepsTheFirstTimeAndTheLifecycleFormIsAccepted) {
    const std::string id = verify_console_token(dir_, issue(), kNow).token_id;
    EXPECT_TRUE(revoke_console_token(dir_, "console-token/" + id, kNow).newly_revoked);
    const auto again = revoke_console_token(dir_, id, kNow + 100);
    EXPECT_FALSE(again.newly_revoked);
    EXPECT_EQ(again.revoked_at, kNow);
    EXPECT_EQ(console_token_revocations(dir_), (std::map<std::string, std::int64_t>{{id, kNow}}));
}

TEST_F(ConsoleTokenTest, OnlyTokenIdsCanBeRevoked) {
    for (const char* bad : {"", "abc", "console-token/", "console-token/xyz", "0123456789ABCDEF0123456789ABCDEF",
                            "0123456789abcdef0123456789abcdef0", "cert/0123456789abcdef0123456789abcdef"})
        EXPECT_THROW(revoke_console_token(dir_, bad, kNow), Error) << bad;
    EXPECT_EQ(parse_console_token_id("console-token/0123456789abcdef0123456789abcdef"),
              "0123456789abcdef0123456789abcdef");
    EXPECT_FALSE(fs::exists(localcore::console_token_revocations_path(dir_)));
}

TEST_F(ConsoleTokenTest, ADamagedRevocationListIsRefusedNamingTheFile) {
    const std::string token = issue();
    const auto path = localcore::console_token_revocations_path(dir_);
    for (const char* text :
         {"[1,2]", "{\"0123456789abcdef0123456789abcdef\": \"yesterday\"}", "{\"x\": 1}", "{"}) {
        localcore::write_file_atomic(path, text, 0600);
        EXPECT_THAT(refusal(token), HasSubstr(path.string())) << text;
        EXPECT_THROW(revoke_console_token(dir_, "0123456789abcdef0123456789abcdef", kNow), Error) << text;
        EXPECT_EQ(localcore::read_file(path), text) << "a damaged list is never overwritten";
    }
}

// The CLI may run while another CLI revokes (and the broker reads): under the lock file no
// revocation is lost.
TEST_F(ConsoleTokenTest, ConcurrentRevocationsAreAllKept) {
    constexpr int kThreads = 8, kEach = 5;
    std::vector<std::string> ids;
    for (int i = 0; i < kThreads * kEach; ++i) {
        char id[33];
        std::snprintf(id, sizeof id, "%032x", i + 1);
        ids.emplace_back(id);
    }
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < kEach; ++i) revoke_console_token(dir_, ids[t * kEach + i], kNow);
        });
    for (auto& th : threads) th.join();
    const auto revoked = console_token_revocations(dir_);
    EXPECT_EQ(revoked.size(), ids.size());
    for (const auto& id : ids) EXPECT_TRUE(revoked.count(id)) << id;
}

TEST_F(ConsoleTokenTest, RevocationsOlderThanAnyLiveTokenAreDropped) {
    const std::string old_id(32, 'a'), new_id(32, 'b');
    revoke_console_token(dir_, old_id, kNow - localcore::kRevocationKeptFor.count() - 1);
    revoke_console_token(dir_, new_id, kNow);
    EXPECT_EQ(console_token_revocations(dir_), (std::map<std::string, std::int64_t>{{new_id, kNow}}));
}

}  // namespace
