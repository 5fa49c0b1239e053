// The files of a configuration applied by a job (RemoteConfigFiles): what is kept as the
// previous, what a rollback brings back, and what a start finds after a power cut at each step.
#include "test_support.hpp"

#include <iotgw/core/remote_config_files.hpp>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

namespace iotgw::core {
namespace {

namespace fs = std::filesystem;

using iotgw::test::read_text_file;

class RemoteConfigFilesTest : public ::testing::Test {
protected:
    test::TempDir dir;
    fs::path file = dir.path() / "iotgw.toml";
    RemoteConfigFiles files{file};
};

TEST_F(RemoteConfigFilesTest, AFirstApplyRunsOnTrialAndItsRollbackLeavesThePackagedFile) {
    EXPECT_FALSE(files.active());
    EXPECT_FALSE(files.record().has_value());
    files.apply("job-1", "a = 1\n", 1000);
    EXPECT_TRUE(files.active());
    EXPECT_EQ(read_text_file(file), "a = 1\n");
    auto r = files.record();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->job_id, "job-1");
    EXPECT_EQ(r->state, TrialState::pending);
    EXPECT_EQ(r->deadline_unix, 1000);
    EXPECT_FALSE(r->had_previous);
    EXPECT_TRUE(files.file_matches(*r));

    files.roll_back("no connection");
    EXPECT_FALSE(files.active()) << "the packaged configuration runs again";
    r = files.record();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->state, TrialState::rolled_back);
    EXPECT_EQ(r->reason, "no connection");
}

TEST_F(RemoteConfigFilesTest, ARollbackBringsBackTheConfirmedConfigurationBeforeIt) {
    files.apply("job-1", "a = 1\n", 1000);
    files.confirm();
    EXPECT_EQ(files.record()->state, TrialState::confirmed);
    files.apply("job-2", "a = 2\n", 2000);
    EXPECT_EQ(read_text_file(file), "a = 2\n");
    EXPECT_EQ(read_text_file(fs::path(file) += ".previous"), "a = 1\n");
    files.roll_back("it crashed");
    EXPECT_EQ(read_text_file(file), "a = 1\n");
    EXPECT_EQ(files.record()->job_id, "job-2");
    EXPECT_EQ(files.record()->state, TrialState::rolled_back);
}

// A job cancelled while its configuration was on trial, then another job: the unconfirmed one
// never becomes the configuration a rollback returns to.
TEST_F(RemoteConfigFilesTest, AnUnconfirmedConfigurationIsNeverThePrevious) {
    files.apply("job-1", "a = 1\n", 1000);
    files.confirm();
    files.apply("job-2", "a = 2\n", 2000);  // left pending
    files.apply("job-3", "a = 3\n", 3000);
    EXPECT_EQ(files.record()->job_id, "job-3");
    files.roll_back("lost");
    EXPECT_EQ(read_text_file(file), "a = 1\n");
}

TEST_F(RemoteConfigFilesTest, OnlyAPendingTrialIsConfirmedOrRolledBack) {
    EXPECT_THROW(files.confirm(), std::runtime_error);
    EXPECT_THROW(files.roll_back("x"), std::runtime_error);
    files.apply("job-1", "a = 1\n", 1000);
    files.confirm();
    EXPECT_THROW(files.confirm(), std::runtime_error);
    EXPECT_THROW(files.roll_back("x"), std::runtime_error);
    EXPECT_EQ(read_text_file(file), "a = 1\n");
}

TEST_F(RemoteConfigFilesTest, StartsOnTrialAreCounted) {
    EXPECT_EQ(files.count_start(), 0) << "nothing on trial";
    files.apply("job-1", "a = 1\n", 1000);
    EXPECT_EQ(files.count_start(), 1);
    EXPECT_EQ(files.count_start(), 2);
    EXPECT_EQ(files.record()->starts, 2);
    files.confirm();
    EXPECT_EQ(files.count_start(), 0);
}

// The power went after the record was written and before the new file was: the file still holds
// the previous text, which the record's digest does not match.
TEST_F(RemoteConfigFilesTest, AFileNotFullyWrittenDoesNotMatchItsRecord) {
    files.apply("job-1", "a = 1\n", 1000);
    files.confirm();
    files.apply("job-2", "a = 2\n", 2000);
    std::ofstream(file, std::ios::trunc) << "a = 1\n";
    EXPECT_FALSE(files.file_matches(*files.record()));
    fs::remove(file);
    EXPECT_FALSE(files.file_matches(*files.record()));
}

// The text could not be written (here the temporary file's name is taken by a directory; in the
// field, a full disk): the rollback that follows has nothing to restore, because the file still
// holds what ran before, so it does not fail on the same write.
TEST_F(RemoteConfigFilesTest, ARollbackAfterAFailedWriteLeavesTheFileThatRan) {
    files.apply("job-1", "a = 1\n", 1000);
    files.confirm();
    fs::create_directory(fs::path(file) += ".tmp");
    EXPECT_THROW(files.apply("job-2", "a = 2\n", 2000), std::runtime_error);
    EXPECT_EQ(files.record()->state, TrialState::pending);
    EXPECT_FALSE(files.file_matches(*files.record()));
    EXPECT_NO_THROW(files.roll_back("it could not be written"));
    EXPECT_EQ(files.record()->state, TrialState::rolled_back);
    EXPECT_EQ(read_text_file(file), "a = 1\n");
}

TEST_F(RemoteConfigFilesTest, TheFilesAreReadableByTheServiceOnly) {
    files.apply("job-1", "a = 1\n", 1000);
    files.confirm();
    files.apply("job-2", "a = 2\n", 2000);
    for (const char* suffix : {"", ".previous", ".state"}) {
        struct stat st {};
        ASSERT_EQ(::stat((file.string() + suffix).c_str(), &st), 0) << suffix;
        EXPECT_EQ(st.st_mode & 0777, 0600u) << suffix;
    }
}

TEST_F(RemoteConfigFilesTest, ADamagedRecordIsAnErrorThatNamesTheFile) {
    std::ofstream(fs::path(file) += ".state") << R"({"job":"j","state":"maybe"})";
    try {
        (void)files.record();
        FAIL() << "no error";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find(file.string() + ".state"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("\"state\""), std::string::npos) << e.what();
    }
    std::ofstream(fs::path(file) += ".state", std::ios::trunc) << "{not json";
    EXPECT_THROW((void)files.record(), std::runtime_error);
}

TEST_F(RemoteConfigFilesTest, TheRecordHoldsTheTextsSha256) {
    files.apply("job-1", "abc", 1000);
    EXPECT_EQ(files.record()->sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace iotgw::core
