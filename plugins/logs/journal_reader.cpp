#include "journal_reader.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <thread>

namespace iotgw::plugins::logs {
namespace {

constexpr size_t kMaxStderr = 2048;

// Both ends of a pipe, closed on every path out.
struct Pipe {
    int fds[2] = {-1, -1};
    ~Pipe() {
        for (int& fd : fds)
            if (fd >= 0) ::close(fd);
    }
    bool open() { return ::pipe2(fds, O_CLOEXEC) == 0; }
    void close_end(int i) {
        if (fds[i] >= 0) ::close(fds[i]);
        fds[i] = -1;
    }
};

std::string first_line(const std::string& s) {
    std::string line = s.substr(0, s.find('\n'));
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    return line;
}

}  // namespace

std::vector<std::string> journalctl_argv(const JournalQuery& q) {
    std::vector<std::string> argv{q.journalctl, "--unit=" + q.unit, "--output=short-iso-precise", "--utc",
                                  "--no-pager"};
    if (q.since_unix) {
        argv.push_back("--since=@" + std::to_string(*q.since_unix));
        if (q.until_unix) argv.push_back("--until=@" + std::to_string(*q.until_unix));
    } else {
        argv.push_back("--lines=" + std::to_string(q.lines.value_or(1000)));
    }
    return argv;
}

JournalText read_journal(const std::vector<std::string>& argv, uint64_t max_bytes,
                         std::chrono::milliseconds timeout, const std::atomic<bool>& cancelled) {
    JournalText out;
    if (argv.empty()) {
        out.error = "no journal program is configured";
        return out;
    }
    Pipe stdout_pipe, stderr_pipe;
    if (!stdout_pipe.open() || !stderr_pipe.open()) {
        out.error = std::string("cannot make a pipe for ") + argv[0] + ": " + std::strerror(errno);
        return out;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, stdout_pipe.fds[1], 1);
    posix_spawn_file_actions_adddup2(&actions, stderr_pipe.fds[1], 2);
    // Nothing else of the gateway's (its broker connection, its files) reaches journalctl.
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    // A fixed environment: no pager, no colours, the journal's own words in English.
    std::array<char*, 5> env{const_cast<char*>("PATH=/usr/bin:/bin"), const_cast<char*>("LANG=C.UTF-8"),
                             const_cast<char*>("SYSTEMD_PAGER="), const_cast<char*>("SYSTEMD_COLORS=0"),
                             nullptr};
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), env.data());
    posix_spawn_file_actions_destroy(&actions);
    stdout_pipe.close_end(1);
    stderr_pipe.close_end(1);
    if (rc != 0) {
        out.error = "cannot run " + argv[0] + ": " + std::strerror(rc);
        return out;
    }

    std::string text, err;
    bool at_line_start = true;  // what is kept starts a line (nothing dropped, or a whole line)
    // Drops the oldest bytes down to `keep`, remembering whether the cut fell after a newline.
    auto keep_newest = [&](size_t keep) {
        const size_t drop = text.size() - keep;
        at_line_start = text[drop - 1] == '\n';
        out.dropped += drop;
        text.erase(0, drop);
    };
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    bool stopped = false;  // killed: by the deadline or the cancel flag
    std::string broke;     // killed: the pipes could not be read
    auto past_deadline = [&] { return cancelled.load() || std::chrono::steady_clock::now() >= deadline; };
    std::array<char, 65536> buf{};
    std::array<pollfd, 2> fds{pollfd{stdout_pipe.fds[0], POLLIN, 0}, pollfd{stderr_pipe.fds[0], POLLIN, 0}};
    while (fds[0].fd >= 0 || fds[1].fd >= 0) {
        if (past_deadline()) {
            ::kill(pid, SIGKILL);
            stopped = true;
            break;
        }
        // Wakes at least every 100 ms to look at the flag and the deadline.
        const int n = ::poll(fds.data(), fds.size(), 100);
        if (n < 0 && errno != EINTR) {
            // Nobody would read the pipes any more: a child that fills one would never exit.
            broke = std::string("cannot wait for its output: ") + std::strerror(errno);
            ::kill(pid, SIGKILL);
            break;
        }
        for (size_t i = 0; i < fds.size(); ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0) continue;
            const ssize_t got = ::read(fds[i].fd, buf.data(), buf.size());
            if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            if (got <= 0) {
                fds[i].fd = -1;
                continue;
            }
            if (i == 0) {
                text.append(buf.data(), static_cast<size_t>(got));
                // Keep at most twice the cap while reading, the newest part.
                if (text.size() > 2 * max_bytes) keep_newest(max_bytes);
            } else if (err.size() < kMaxStderr) {
                err.append(buf.data(), std::min(static_cast<size_t>(got), kMaxStderr - err.size()));
            }
        }
    }
    // Both pipes are closed, yet the program may still run (a wrapper that closed them): its exit
    // is awaited under the same deadline and cancel flag, never without a bound.
    int status = 0;
    for (;;) {
        const pid_t r = ::waitpid(pid, &status, stopped || !broke.empty() ? 0 : WNOHANG);
        if (r == pid) break;
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {  // not ours to wait for (cannot happen unless SIGCHLD is ignored)
            status = 0;
            break;
        }
        if (past_deadline()) {
            ::kill(pid, SIGKILL);
            stopped = true;
            continue;  // reaped at once now
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!broke.empty()) {
        out.error = argv[0] + ": " + broke;
        return out;
    }
    if (stopped) {
        const auto ms = timeout.count();
        out.error = cancelled.load() ? argv[0] + " was stopped: the job was cancelled"
                                     : argv[0] + " did not finish within " +
                                           (ms % 1000 == 0 ? std::to_string(ms / 1000) + " s"
                                                           : std::to_string(ms) + " ms") +
                                           "; it was stopped";
        return out;
    }
    out.note = first_line(err);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        out.error = argv[0] +
                    (WIFEXITED(status) ? " exited with status " + std::to_string(WEXITSTATUS(status))
                                       : " was killed by signal " + std::to_string(WTERMSIG(status))) +
                    (out.note.empty() ? std::string() : ": " + out.note);
        return out;
    }
    if (text.size() > max_bytes) keep_newest(max_bytes);
    // The cut fell inside a line: drop the rest of that line too.
    if (!at_line_start) {
        const auto nl = text.find('\n');
        const size_t cut = nl == std::string::npos ? text.size() : nl + 1;
        out.dropped += cut;
        text.erase(0, cut);
    }
    out.lines = static_cast<uint64_t>(std::count(text.begin(), text.end(), '\n'));
    if (!text.empty() && text.back() != '\n') ++out.lines;
    out.text = std::move(text);
    out.ok = true;
    return out;
}

}  // namespace iotgw::plugins::logs
