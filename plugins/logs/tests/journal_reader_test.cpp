// The bounded journalctl run, with real programs standing in for journalctl's output (/bin/sh):
// the newest whole lines within the cap, a failure with what the program said, a program that
// hangs or is cancelled stopped, and the arguments a logs job gives journalctl.
#include "journal_reader.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace iotgw::plugins::logs {
namespace {

using namespace std::chrono_literals;

JournalText run_sh(const std::string& script, uint64_t max_bytes = 1'000'000,
                   std::chrono::milliseconds timeout = 10s) {
    std::atomic<bool> cancelled{false};
    return read_journal({"/bin/sh", "-c", script}, max_bytes, timeout, cancelled);
}

TEST(JournalReader, AllOfASmallOutputIsKept) {
    const auto j = run_sh("printf 'one\\ntwo\\nthree\\n'");
    ASSERT_TRUE(j.ok) << j.error;
    EXPECT_EQ(j.text, "one\ntwo\nthree\n");
    EXPECT_EQ(j.lines, 3u);
    EXPECT_EQ(j.dropped, 0u);
    EXPECT_EQ(j.note, "");
}

TEST(JournalReader, OverTheCapTheNewestWholeLinesAreKept) {
    // 20,000 lines of "line N" (~190 KB, read through the pipe in many chunks) into 1,000 bytes.
    const auto j = run_sh("i=1; while [ $i -le 20000 ]; do echo \"line $i\"; i=$((i+1)); done", 1000);
    ASSERT_TRUE(j.ok) << j.error;
    EXPECT_LE(j.text.size(), 1000u);
    EXPECT_GT(j.text.size(), 900u);
    ASSERT_GE(j.text.size(), 11u);
    EXPECT_EQ(j.text.substr(j.text.size() - 11), "line 20000\n");
    EXPECT_EQ(j.text.rfind("line ", 0), 0u) << "the first kept line is not whole: " << j.text.substr(0, 20);
    EXPECT_EQ(j.lines, static_cast<uint64_t>(std::count(j.text.begin(), j.text.end(), '\n')));
    uint64_t total = 0;
    for (int i = 1; i <= 20000; ++i) total += 6 + std::to_string(i).size();
    EXPECT_EQ(j.dropped + j.text.size(), total);
}

TEST(JournalReader, ACutThatFallsOnALineStartKeepsThatLine) {
    // Exactly 3 lines of 4 bytes fit in 12: nothing whole is dropped beyond the first line.
    const auto j = run_sh("printf 'aaa\\nbbb\\nccc\\nddd\\n'", 12);
    ASSERT_TRUE(j.ok) << j.error;
    EXPECT_EQ(j.text, "bbb\nccc\nddd\n");
    EXPECT_EQ(j.dropped, 4u);
}

TEST(JournalReader, AHintOnStderrIsKeptAsANote) {
    const auto j =
        run_sh("echo 'Hint: You are currently not seeing messages from the system.' >&2; echo entry");
    ASSERT_TRUE(j.ok) << j.error;
    EXPECT_EQ(j.text, "entry\n");
    EXPECT_EQ(j.note, "Hint: You are currently not seeing messages from the system.");
}

TEST(JournalReader, AFailureSaysTheStatusAndWhatTheProgramSaid) {
    const auto j = run_sh("echo 'Failed to open journal: Permission denied' >&2; exit 1");
    ASSERT_FALSE(j.ok);
    EXPECT_EQ(j.error, "/bin/sh exited with status 1: Failed to open journal: Permission denied");
}

TEST(JournalReader, AMissingProgramIsNamed) {
    std::atomic<bool> cancelled{false};
    const auto j = read_journal({"/nonexistent/journalctl", "--unit=x"}, 1000, 1s, cancelled);
    ASSERT_FALSE(j.ok);
    EXPECT_EQ(j.error, "cannot run /nonexistent/journalctl: No such file or directory");
}

TEST(JournalReader, AProgramThatHangsIsStoppedAtTheDeadline) {
    const auto j = run_sh("echo partial; exec sleep 30", 1000, 500ms);
    ASSERT_FALSE(j.ok);
    EXPECT_EQ(j.error, "/bin/sh did not finish within 500 ms; it was stopped");
}

TEST(JournalReader, AProgramThatClosesItsOutputButRunsOnIsStoppedAtTheDeadlineToo) {
    const auto started = std::chrono::steady_clock::now();
    const auto j = run_sh("exec >&- 2>&-; exec sleep 30", 1000, 500ms);
    ASSERT_FALSE(j.ok);
    EXPECT_EQ(j.error, "/bin/sh did not finish within 500 ms; it was stopped");
    // Far below the 30 s the program would run: the deadline, not its exit, ended the wait.
    EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
}

TEST(JournalReader, ACancelStopsTheProgram) {
    std::atomic<bool> cancelled{false};
    std::thread canceller([&] {
        std::this_thread::sleep_for(200ms);
        cancelled = true;
    });
    const auto j = read_journal({"/bin/sh", "-c", "exec sleep 30"}, 1000, 30s, cancelled);
    canceller.join();
    ASSERT_FALSE(j.ok);
    EXPECT_EQ(j.error, "/bin/sh was stopped: the job was cancelled");
}

TEST(JournalReader, TheArgumentsAskForTheUnitInUtcByLinesOrByRange) {
    JournalQuery q{"/usr/bin/journalctl", "iotgw.service", 250, std::nullopt, std::nullopt};
    EXPECT_EQ(journalctl_argv(q),
              (std::vector<std::string>{"/usr/bin/journalctl", "--unit=iotgw.service",
                                        "--output=short-iso-precise", "--utc", "--no-pager", "--lines=250"}));
    q.lines.reset();
    q.since_unix = 1796544000;
    q.until_unix = 1796549400;
    EXPECT_EQ(
        journalctl_argv(q),
        (std::vector<std::string>{"/usr/bin/journalctl", "--unit=iotgw.service", "--output=short-iso-precise",
                                  "--utc", "--no-pager", "--since=@1796544000", "--until=@1796549400"}));
}

}  // namespace
}  // namespace iotgw::plugins::logs
