// A child process for tests: started with its stdout+stderr in a file, polled with deadlines,
// and always reaped (SIGKILL in the destructor if still running).
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include <sys/types.h>

namespace iotgw::test {

class ChildProcess {
public:
    // args[0] is the executable's path; output goes to `log_file`; `env` entries ("K=V") are
    // added to the environment.
    ChildProcess(const std::vector<std::string>& args, std::filesystem::path log_file,
                 const std::vector<std::string>& env = {});
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    pid_t pid() const noexcept { return pid_; }
    void signal(int sig) const;
    std::string log() const;
    // Occurrences of `needle` in the log so far.
    size_t count(const std::string& needle) const;
    // Poll the log until it holds `needle` at least `times` times, for at most `limit`.
    bool wait_for(const std::string& needle, std::chrono::milliseconds limit = std::chrono::seconds(10),
                  size_t times = 1) const;
    // Exit status (128 + signal if killed), or -1 if it has not exited within `limit`.
    int wait_exit(std::chrono::milliseconds limit);
    bool running();

private:
    std::filesystem::path log_file_;
    pid_t pid_ = -1;
    bool exited_ = false;
    int status_ = -1;
};

}  // namespace iotgw::test
