#include "run_process.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace iotgw::core::update {

ProcessResult run_process(const std::vector<std::string>& argv, size_t keep) {
    ProcessResult out;
    if (argv.empty()) return out;
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
        out.output = std::string("cannot make a pipe: ") + std::strerror(errno);
        return out;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::array<char*, 4> env{const_cast<char*>("PATH=/usr/sbin:/usr/bin:/sbin:/bin"),
                             const_cast<char*>("LANG=C.UTF-8"),
                             const_cast<char*>("DEBIAN_FRONTEND=noninteractive"), nullptr};
    pid_t pid = -1;
    const int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), env.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(pipe_fds[1]);
    if (rc != 0) {
        ::close(pipe_fds[0]);
        out.output = "cannot run " + argv[0] + ": " + std::strerror(rc);
        return out;
    }
    std::array<char, 4096> buf{};
    for (;;) {
        const ssize_t n = ::read(pipe_fds[0], buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.output.append(buf.data(), static_cast<size_t>(n));
        if (out.output.size() > 2 * keep) out.output.erase(0, out.output.size() - keep);
    }
    ::close(pipe_fds[0]);
    if (out.output.size() > keep) out.output.erase(0, out.output.size() - keep);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    out.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return out;
}

}  // namespace iotgw::core::update
