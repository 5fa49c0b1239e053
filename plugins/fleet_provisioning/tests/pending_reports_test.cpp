// The durable list of rotation reports the backend has not confirmed (pending_reports.hpp), on
// real files: a lost report survives the next rotation and a restart, and each is sent again until
// the backend answers it (replies in the form localcore/lib/rotation.cpp sends).
#include "pending_reports.hpp"
#include "provisioning_messages.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace iotgw::plugins::fleet_provisioning {
namespace {

const std::string kA(64, 'a'), kB(64, 'b'), kC(64, 'c');

std::string accepted_reply(const std::string& old_id, const std::string& token) {
    return R"({"oldCertificateId":")" + old_id + R"(","newCertificateId":")" + kC + R"(","clientToken":")" + token +
           R"("})";
}

// Issue 16: the record of rotation A -> B was overwritten by rotation B -> C when A's report was
// lost, and A stayed ACTIVE forever. Now both are kept until the backend confirms each.
TEST(PendingReports, TwoLostReportsSurviveARestartAndAreBothConfirmedWhenTheBackendIsBack) {
    iotgw::test::TempDir dir;
    const std::string path = pending_reports_path((dir.path() / "cert.pem").string());
    {
        PendingReports p;
        EXPECT_EQ(p.open(path), "");
        EXPECT_TRUE(p.empty());
        EXPECT_EQ(p.add({kA, kB}), "");  // rotation 1: its report never answered
        // The backend is down: a send times out and the report stays.
        ASSERT_TRUE(p.send_next("t1"));
        p.timed_out();
        EXPECT_EQ(p.add({kB, kC}), "");  // rotation 2: its report lost as well
        EXPECT_EQ(p.size(), 2u);
    }
    ASSERT_TRUE(std::filesystem::exists(path));

    PendingReports p;  // a restart
    ASSERT_EQ(p.open(path), "");
    ASSERT_EQ(p.size(), 2u);
    EXPECT_EQ(p.list()[0].old_id, kA);  // oldest first
    EXPECT_EQ(p.list()[1].old_id, kB);

    // The backend is back: one report at a time, each confirmed by its own clientToken.
    const auto first = p.send_next("t2");
    ASSERT_TRUE(first);
    EXPECT_EQ(first->old_id, kA);
    EXPECT_FALSE(p.send_next("t3"));  // one out at a time
    EXPECT_EQ(p.on_reply("stale-token", true, accepted_reply(kA, "stale-token")), PendingReports::Answer::not_ours);
    EXPECT_EQ(p.on_reply("t2", true, accepted_reply(kA, "t2")), PendingReports::Answer::confirmed);
    EXPECT_EQ(p.answered().old_id, kA);
    const auto second = p.send_next("t4");
    ASSERT_TRUE(second);
    EXPECT_EQ(second->old_id, kB);
    EXPECT_EQ(p.on_reply("t4", true, accepted_reply(kB, "t4")), PendingReports::Answer::confirmed);
    EXPECT_TRUE(p.empty());
    EXPECT_FALSE(std::filesystem::exists(path));  // nothing pending: no file

    PendingReports again;
    EXPECT_EQ(again.open(path), "");
    EXPECT_TRUE(again.empty());
}

TEST(PendingReports, ATransientRejectionKeepsTheReportAFinalOneConfirmsIt) {
    iotgw::test::TempDir dir;
    PendingReports p;
    p.open((dir.path() / "cert.pem.reports").string());
    p.add({kA, kB});
    ASSERT_TRUE(p.send_next("t1"));
    EXPECT_EQ(p.on_reply("t1", false, R"({"code":500,"message":"internal failure: disk","clientToken":"t1"})"),
              PendingReports::Answer::retry);
    ASSERT_TRUE(p.send_next("t2"));
    EXPECT_EQ(p.on_reply("t2", false, R"({"code":429,"message":"Too Many Requests","clientToken":"t2"})"),
              PendingReports::Answer::retry);
    EXPECT_EQ(p.size(), 1u);
    ASSERT_TRUE(p.send_next("t3"));
    EXPECT_EQ(p.on_reply("t3", false,
                         R"({"code":409,"message":"certificate is REVOKED, which is permanent","clientToken":"t3"})"),
              PendingReports::Answer::confirmed);
    EXPECT_TRUE(p.empty());
}

TEST(PendingReports, TheListIsBoundedAndSaysWhichCertificateStaysActive) {
    iotgw::test::TempDir dir;
    PendingReports p;
    p.open((dir.path() / "cert.pem.reports").string());
    std::string last;
    for (std::size_t i = 0; i <= kMaxPendingReports; ++i) {
        const std::string n = std::to_string(100 + i);  // 3 digits: 61 zeros + "100", "101", ...
        last = p.add({std::string(61, '0') + n, kC});
    }
    EXPECT_EQ(p.size(), kMaxPendingReports);
    EXPECT_NE(last.find("giving up the oldest; certificate " + std::string(61, '0') + "100"), std::string::npos)
        << last;
    EXPECT_NE(last.find("stays ACTIVE until an operator makes it INACTIVE"), std::string::npos) << last;
}

TEST(PendingReports, AFileThatIsNotOursIsReportedWithItsPath) {
    iotgw::test::TempDir dir;
    const auto path = dir.write("cert.pem.reports", R"({"pending":[{"oldCertificateId":"short"}]})");
    PendingReports p;
    const std::string problem = p.open(path.string());
    EXPECT_NE(problem.find(path.string() + ": entry 0 has no oldCertificateId of 64 hex digits"), std::string::npos)
        << problem;
    EXPECT_TRUE(p.empty());
}

}  // namespace
}  // namespace iotgw::plugins::fleet_provisioning
