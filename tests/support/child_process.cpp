#include "child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace iotgw::test {

ChildProcess::ChildProcess(const std::vector<std::string>& args, std::filesystem::path log_file,
                           const std::vector<std::string>& env)
    : log_file_(std::move(log_file)) {
    if (args.empty()) throw std::invalid_argument("ChildProcess needs a program");
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        int fd = open(log_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, STDERR_FILENO);
            dup2(fd, STDOUT_FILENO);
        }
        for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
        std::vector<char*> argv;
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        execv(argv[0], argv.data());
        _exit(127);
    }
}

ChildProcess::~ChildProcess() {
    if (pid_ > 0 && !exited_) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
}

void ChildProcess::signal(int sig) const {
    if (pid_ > 0 && !exited_) kill(pid_, sig);
}

std::string ChildProcess::log() const {
    std::ifstream in(log_file_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

size_t ChildProcess::count(const std::string& needle) const {
    const std::string text = log();
    size_t n = 0;
    for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
    return n;
}

bool ChildProcess::wait_for(const std::string& needle, std::chrono::milliseconds limit, size_t times) const {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (count(needle) >= times) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return count(needle) >= times;
}

int ChildProcess::wait_exit(std::chrono::milliseconds limit) {
    if (exited_) return status_;
    const auto end = std::chrono::steady_clock::now() + limit;
    do {
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            exited_ = true;
            status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            return status_;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    } while (std::chrono::steady_clock::now() < end);
    return -1;
}

bool ChildProcess::running() { return wait_exit(std::chrono::milliseconds(0)) == -1; }

}  // namespace iotgw::test
