#include "swtpm_fixture.hpp"

#include <iotgw/plugins/common/pem_der.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace iotgw::test::tpm {
namespace fs = std::filesystem;
namespace {

bool port_free(uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    const bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    if (fd >= 0) ::close(fd);
    return ok;
}

bool port_accepts(uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    const bool ok = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    if (fd >= 0) ::close(fd);
    return ok;
}

// Two consecutive free ports (server, control).
uint16_t pick_port_pair() {
    for (int attempt = 0; attempt < 50; ++attempt) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
            if (fd >= 0) ::close(fd);
            continue;
        }
        ::close(fd);
        const uint16_t p = ntohs(a.sin_port);
        if (p < 65535 && port_free(p) && port_free(static_cast<uint16_t>(p + 1))) return p;
    }
    throw std::runtime_error("no two consecutive free loopback ports for swtpm");
}

CommandOutput run(const std::vector<std::string>& args, const fs::path& log,
                  const std::vector<std::string>& env) {
    ChildProcess child(args, log, env);
    CommandOutput r;
    r.status = child.wait_exit(std::chrono::seconds(30));
    if (r.status < 0) {
        child.signal(SIGKILL);
        child.wait_exit(std::chrono::seconds(5));
    }
    r.output = child.log();
    return r;
}

std::vector<int> version_parts(const std::string& v) {
    std::vector<int> out;
    std::stringstream ss(v);
    for (std::string p; std::getline(ss, p, '.');) out.push_back(std::atoi(p.c_str()));
    return out;
}

}  // namespace

std::string tls_unsupported_reason(std::string* installed) {
    const CommandOutput r =
        run({"/usr/bin/dpkg-query", "-W", "-f=${Version}", "tpm2-openssl"},
            fs::temp_directory_path() / ("iotgw-dpkg-" + std::to_string(::getpid()) + ".log"), {});
    std::string v = r.status == 0 ? r.output : "";
    v = v.substr(0, v.find_first_of("-\n"));
    if (installed != nullptr) *installed = v;
    std::error_code ec;
    fs::remove(fs::temp_directory_path() / ("iotgw-dpkg-" + std::to_string(::getpid()) + ".log"), ec);
    if (v.empty()) return "";  // not installed: the test fails and says what to install
    auto have = version_parts(v);
    have.resize(3, 0);
    if (have >= std::vector<int>{1, 2, 0}) return "";
    return "tpm2-openssl " + v +
           " is installed; TLS with a TPM key needs tpm2-openssl >= 1.2 (older ones fail the handshake with "
           "\"missing private key\"), which is in Debian 13: these tests run in scripts/test-debian13's "
           "chroot";
}

SwTpm::SwTpm(const fs::path& dir) : dir_(dir) {
    for (const char* p : {"/usr/bin/swtpm", "/usr/bin/tpm2_createprimary"})
        if (!fs::exists(p))
            throw std::runtime_error(std::string(p) + " is missing: apt-get install swtpm tpm2-tools");
    fs::create_directories(dir_ / "state");
    for (int attempt = 0; attempt < 5 && !process_; ++attempt) {
        port_ = pick_port_pair();
        auto p = std::make_unique<ChildProcess>(
            std::vector<std::string>{"/usr/bin/swtpm", "socket", "--tpm2", "--server",
                                     "type=tcp,bindaddr=127.0.0.1,port=" + std::to_string(port_), "--ctrl",
                                     "type=tcp,bindaddr=127.0.0.1,port=" + std::to_string(port_ + 1),
                                     "--tpmstate", "dir=" + (dir_ / "state").string(), "--flags",
                                     "not-need-init,startup-clear"},
            dir_ / ("swtpm-" + std::to_string(attempt) + ".log"));
        for (int i = 0; i < 200 && p->running() && !port_accepts(port_); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        if (p->running() && port_accepts(port_)) process_ = std::move(p);
    }
    if (!process_) throw std::runtime_error("swtpm did not start (logs in " + dir_.string() + ")");
    auto r = tool("tpm2_createprimary", {"-C", "o", "-G", "ecc", "-c", (dir_ / "primary.ctx").string()});
    if (r.status != 0) throw std::runtime_error("tpm2_createprimary failed: " + r.output);
    r = tool("tpm2_evictcontrol", {"-C", "o", "-c", (dir_ / "primary.ctx").string(), kParent});
    if (r.status != 0) throw std::runtime_error("tpm2_evictcontrol failed: " + r.output);
    tool("tpm2_flushcontext", {"-t"});
}

SwTpm::~SwTpm() {
    if (process_) {
        process_->signal(SIGTERM);
        if (process_->wait_exit(std::chrono::seconds(5)) < 0) process_->signal(SIGKILL);
        process_->wait_exit(std::chrono::seconds(5));
    }
}

std::string SwTpm::tcti() const { return "swtpm:host=127.0.0.1,port=" + std::to_string(port_); }

CommandOutput SwTpm::tool(const std::string& program, const std::vector<std::string>& args) {
    std::vector<std::string> full{"/usr/bin/" + program};
    full.insert(full.end(), args.begin(), args.end());
    return run(full, dir_ / (program + "-" + std::to_string(++runs_) + ".log"), {"TPM2TOOLS_TCTI=" + tcti()});
}

std::string SwTpm::read_public(const fs::path& tss2_pem) {
    std::ifstream in(tss2_pem);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string pem = ss.str();
    using plugins::common::read_tlv;
    const auto block = plugins::common::read_pem_block(pem);
    if (!block) return "not a PEM file: " + tss2_pem.string();
    // TPMKey ::= SEQUENCE { OID, [0] BOOLEAN OPTIONAL, parent INTEGER, pub OCTET STRING, priv OCTET STRING }
    size_t pos = 0;
    unsigned char tag = 0;
    std::string seq, field, pub, priv;
    if (!read_tlv(block->der, pos, tag, seq)) return "not a TSS2 key";
    pos = 0;
    read_tlv(seq, pos, tag, field);
    read_tlv(seq, pos, tag, field);
    if (tag == 0xa0) read_tlv(seq, pos, tag, field);
    if (!read_tlv(seq, pos, tag, pub) || !read_tlv(seq, pos, tag, priv)) return "not a TSS2 key";
    const fs::path pub_file = dir_ / ("key-" + std::to_string(++runs_) + ".pub");
    const fs::path priv_file = dir_ / ("key-" + std::to_string(runs_) + ".priv");
    const fs::path ctx = dir_ / ("key-" + std::to_string(runs_) + ".ctx");
    std::ofstream(pub_file, std::ios::binary) << pub;
    std::ofstream(priv_file, std::ios::binary) << priv;
    auto r = tool("tpm2_load",
                  {"-C", kParent, "-u", pub_file.string(), "-r", priv_file.string(), "-c", ctx.string()});
    if (r.status != 0) return "tpm2_load failed: " + r.output;
    r = tool("tpm2_readpublic", {"-c", ctx.string()});
    tool("tpm2_flushcontext", {"-t"});
    return r.output;
}

}  // namespace iotgw::test::tpm
