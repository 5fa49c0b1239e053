// Every record the root helper can leave, and what the waiting `package` job makes of it.
#include "helper_state.hpp"

#include <gtest/gtest.h>

namespace iotgw::plugins::package {
namespace {

core::update::InstallRecord record(const std::string& state, const std::string& job = "up-1") {
    core::update::InstallRecord r;
    r.job = job;
    r.state = state;
    r.version = "1.2.0";
    r.previous = "1.1.0";
    r.reason = "why";
    return r;
}

TEST(PackageHelperState, NoRecordOrAnotherJobsRecordMeansTheRequestIsNotTakenYet) {
    EXPECT_EQ(judge(std::nullopt, "up-1", "1.1.0").next, Next::wait);
    EXPECT_EQ(judge(record("succeeded", "up-0"), "up-1", "1.1.0").next, Next::wait);
    EXPECT_EQ(judge(record("failed", "up-0"), "up-1", "1.1.0").next, Next::wait);
}

TEST(PackageHelperState, InstallingWaitsAndInstalledIsConfirmedOnlyByTheNewVersion) {
    EXPECT_EQ(judge(record("installing"), "up-1", "1.1.0").next, Next::wait);
    // The old process sees "installed" until dpkg's restart stops it: it must not confirm.
    EXPECT_EQ(judge(record("installed"), "up-1", "1.1.0").next, Next::wait);
    EXPECT_EQ(judge(record("installed"), "up-1", "1.2.0").next, Next::confirm);
}

TEST(PackageHelperState, TheEndStatesEndTheJobWithTheHelpersReason) {
    EXPECT_EQ(judge(record("succeeded"), "up-1", "1.2.0").next, Next::succeed);
    for (const auto& [state, reason] :
         {std::pair{"failed", "install_failed"}, std::pair{"rolled_back", "rolled_back"},
          std::pair{"not_confirmed", "not_confirmed"}, std::pair{"downgrade_refused", "downgrade_refused"}}) {
        const auto v = judge(record(state), "up-1", "1.1.0");
        EXPECT_EQ(v.next, Next::fail) << state;
        EXPECT_EQ(v.reason, reason) << state;
        EXPECT_EQ(v.message, "why") << state;
    }
    const auto v = judge(record("exploded"), "up-1", "1.1.0");
    EXPECT_EQ(v.next, Next::fail);
    EXPECT_EQ(v.reason, "helper_state_unknown");
    EXPECT_NE(v.message.find("exploded"), std::string::npos);
}

TEST(PackageHelperState, TheSpaceNeededCoversTheCopiesAndAMargin) {
    EXPECT_GE(space_needed(10'000'000), 50'000'000u);
    EXPECT_GE(space_needed(0), 64u * 1024 * 1024);
}

}  // namespace
}  // namespace iotgw::plugins::package
