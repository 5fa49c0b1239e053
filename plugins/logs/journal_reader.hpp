// The gateway's journal as text, by journalctl: its arguments for a logs job, and one bounded run
// of it (a deadline, a cancel flag, at most the newest `max_bytes` of its output kept in memory,
// cut at a line start), so a huge range or a hung journalctl neither fills the memory of an AMR
// nor holds the job.
//
// read_journal() blocks the calling thread: run it on a worker thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace iotgw::plugins::logs {

struct JournalQuery {
    std::string journalctl;  // the program, e.g. /usr/bin/journalctl
    std::string unit;        // e.g. iotgw.service
    std::optional<int> lines;
    std::optional<int64_t> since_unix, until_unix;
};

// journalctl --unit=U --output=short-iso-precise --utc --no-pager (--lines=N | --since=@S
// [--until=@U]): one line per entry, UTC timestamps to the microsecond, whatever the AMR's zone.
std::vector<std::string> journalctl_argv(const JournalQuery& q);

struct JournalText {
    bool ok = false;
    std::string text;      // the newest lines, whole, at most max_bytes
    uint64_t dropped = 0;  // bytes of older lines left out to keep to max_bytes
    uint64_t lines = 0;    // lines in `text`
    std::string note;      // the first line journalctl wrote to stderr (a hint), if any
    std::string error;     // one sentence when !ok
};

JournalText read_journal(const std::vector<std::string>& argv, uint64_t max_bytes,
                         std::chrono::milliseconds timeout, const std::atomic<bool>& cancelled);

}  // namespace iotgw::plugins::logs
