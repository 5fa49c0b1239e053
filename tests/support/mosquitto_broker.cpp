#include "mosquitto_broker.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace iotgw::test {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kMosquitto = "/usr/sbin/mosquitto";
constexpr auto kReadyDeadline = std::chrono::seconds(10);
constexpr int kStopGraceMs = 5000;

struct CommandResult {
    int status = -1;  // exit code, or -1 if it did not exit normally
    std::string output;
};

// fork/exec without a shell, so paths with spaces or quotes need no escaping.
CommandResult run_command(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        execv(argv[0], argv.data());
        _exit(127);
    }
    close(fds[1]);
    CommandResult result;
    char buf[4096];
    for (;;) {
        ssize_t n = read(fds[0], buf, sizeof buf);
        if (n > 0) {
            result.output.append(buf, static_cast<size_t>(n));
        } else if (n == 0 || errno != EINTR) {
            break;
        }
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

void run_dev_pki(std::vector<std::string> args) {
    args.insert(args.begin(), IOTGW_DEV_PKI);
    auto r = run_command(args);
    if (r.status != 0) {
        std::string cmd;
        for (const auto& a : args) cmd += (cmd.empty() ? "" : " ") + a;
        throw std::runtime_error(cmd + " failed (exit " + std::to_string(r.status) + "):\n" + r.output);
    }
}

std::string last_lines(const std::string& text, size_t n) {
    size_t pos = text.size();
    if (pos > 0 && text[pos - 1] == '\n') --pos;
    for (size_t i = 0; i < n; ++i) {
        if (pos == 0) return text;
        auto nl = text.rfind('\n', pos - 1);
        if (nl == std::string::npos) return text;
        pos = nl;
    }
    return text.substr(pos + 1);
}

// A port the kernel considers free right now. Another process may take it before mosquitto
// binds; the constructor retries with a new port when that happens.
uint16_t pick_free_port() {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        int e = errno;
        close(fd);
        throw std::runtime_error(std::string("cannot pick a free loopback port: ") + std::strerror(e));
    }
    close(fd);
    return ntohs(addr.sin_port);
}

bool port_accepts(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    return ok;
}

std::string current_user() {
    if (const passwd* pw = getpwuid(geteuid()); pw != nullptr && pw->pw_name != nullptr) return pw->pw_name;
    throw std::runtime_error("cannot find the name of the current user (uid " + std::to_string(geteuid()) + ")");
}

std::vector<std::string> split_words(const std::string& s) {
    std::istringstream in(s);
    std::vector<std::string> words;
    for (std::string w; in >> w;) words.push_back(w);
    return words;
}

}  // namespace

DevPki::DevPki(fs::path d) : dir(fs::absolute(std::move(d))) {
    run_dev_pki({"init", dir.string()});
    ca = dir / "ca.pem";
    server_cert = dir / "server.pem";
    server_key = dir / "server.key";
}

DevPki::Device DevPki::device(const std::string& name, const std::string& extra_args) {
    std::vector<std::string> args{"device", dir.string(), name};
    for (auto& w : split_words(extra_args)) args.push_back(std::move(w));
    run_dev_pki(args);
    return Device{dir / (name + ".pem"), dir / (name + ".key")};
}

MosquittoBroker::MosquittoBroker(const DevPki& pki) : MosquittoBroker(pki, Options{}) {}

MosquittoBroker::MosquittoBroker(const DevPki& pki, Options options)
    : dir_(std::make_unique<TempDir>()),
      ca_(pki.ca),
      server_cert_(pki.server_cert),
      server_key_(pki.server_key),
      options_(std::move(options)) {
    fs::create_directories(dir_->path() / "data");
    // A port picked as free can be taken by a parallel test before mosquitto binds it.
    for (int attempt = 1;; ++attempt) {
        port_ = pick_free_port();
        write_config();
        spawn();
        if (wait_listening()) return;
        std::string why = diagnostics();
        reap(SIGKILL, 0);
        if (attempt < 5 && why.find("Address already in use") != std::string::npos) continue;
        throw std::runtime_error("mosquitto did not start listening on 127.0.0.1:" + std::to_string(port_) +
                                 " within 10 s:\n" + why);
    }
}

MosquittoBroker::~MosquittoBroker() {
    try {
        stop();
    } catch (...) {
        // A destructor must not throw; reap() already fell back to SIGKILL.
    }
}

fs::path MosquittoBroker::config_path() const { return dir_->path() / "mosquitto.conf"; }

void MosquittoBroker::write_config() const {
    const fs::path& d = dir_->path();
    std::ostringstream c;
    c << "per_listener_settings false\n"
      << "user " << current_user() << "\n"  // else mosquitto, started as root, switches to user mosquitto
      << "set_tcp_nodelay true\n"           // else CONNACK waits ~40 ms on Nagle + delayed ACK
      << "persistence true\n"
      << "persistence_location " << (d / "data").string() << "/\n"
      << "log_dest file " << (d / "mosquitto.log").string() << "\n"
      << "log_type all\n"
      << "log_timestamp true\n"
      << "log_timestamp_format %Y-%m-%dT%H:%M:%S\n"
      << "allow_anonymous " << (options_.require_certificate ? "false" : "true") << "\n";
    if (options_.per_thing_acl) {
        std::ofstream acl(d / "acl");
        acl << "# %u is the client certificate's CN (use_identity_as_username)\n"
            << "pattern readwrite amr/%u/#\n"
            << "pattern readwrite $aws/things/%u/#\n";
        if (!acl) throw std::runtime_error("cannot write " + (d / "acl").string());
        c << "acl_file " << (d / "acl").string() << "\n";
    }
    c << "listener " << port_ << " 127.0.0.1\n"
      << "cafile " << ca_.string() << "\n"
      << "certfile " << server_cert_.string() << "\n"
      << "keyfile " << server_key_.string() << "\n"
      << "tls_version tlsv1.2\n";
    if (options_.require_certificate) c << "require_certificate true\nuse_identity_as_username true\n";
    for (const auto& line : options_.extra_config) c << line << "\n";
    std::ofstream out(config_path(), std::ios::trunc);
    out << c.str();
    if (!out) throw std::runtime_error("cannot write " + config_path().string());
}

void MosquittoBroker::spawn() {
    // Everything the child needs is prepared before fork: after fork only async-signal-safe calls.
    std::string binary = kMosquitto, flag = "-c", conf = config_path().string();
    std::string out = (dir_->path() / "stderr.log").string();
    char* argv[] = {binary.data(), flag.data(), conf.data(), nullptr};
    // The log is appended to across restarts: only what follows is from this run.
    log_start_ = log().size();
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        // If the test process dies (crash, abort), the broker must not outlive it.
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(1);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, STDIN_FILENO);
        int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    pid_ = pid;
}

bool MosquittoBroker::wait_listening() {
    const auto deadline = Clock::now() + kReadyDeadline;
    while (Clock::now() < deadline) {
        int status = 0;
        pid_t r = waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            pid_ = -1;
            return false;
        }
        // The "running" line comes after every listener is bound: together with an accepted
        // connection it proves the port is ours and not some other process's.
        if (port_accepts(port_) && log().find(" running", log_start_) != std::string::npos) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

void MosquittoBroker::reap(int signal_number, int grace_ms) {
    if (pid_ <= 0) return;
    kill(pid_, signal_number);
    const auto deadline = Clock::now() + std::chrono::milliseconds(grace_ms);
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid_, &status, WNOHANG);
        if (r == pid_ || (r < 0 && errno != EINTR)) break;
        if (Clock::now() >= deadline) {
            kill(pid_, SIGKILL);
            while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
            }
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    pid_ = -1;
}

void MosquittoBroker::stop() { reap(SIGTERM, kStopGraceMs); }

void MosquittoBroker::kill_hard() { reap(SIGKILL, 0); }

void MosquittoBroker::freeze() {
    if (pid_ > 0) kill(pid_, SIGSTOP);
}

void MosquittoBroker::start() {
    if (pid_ > 0) return;
    spawn();
    if (!wait_listening()) {
        std::string why = diagnostics();
        reap(SIGKILL, 0);
        throw std::runtime_error("mosquitto did not restart on 127.0.0.1:" + std::to_string(port_) +
                                 " within 10 s:\n" + why);
    }
}

std::string MosquittoBroker::log() const { return read_text_file(dir_->path() / "mosquitto.log"); }

std::string MosquittoBroker::diagnostics() const {
    std::string text = "--- config " + config_path().string() + "\n" + read_text_file(config_path()) +
                       "--- last lines of the log\n" + last_lines(log(), 20);
    std::string err = read_text_file(dir_->path() / "stderr.log");
    if (!err.empty()) text += "--- stderr\n" + last_lines(err, 20);
    return text;
}

}  // namespace iotgw::test
