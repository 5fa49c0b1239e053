#include "softhsm_token.hpp"

#include "child_process.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <vector>

namespace iotgw::test::pkcs11 {
namespace fs = std::filesystem;
namespace {

constexpr const char* kSoftHsmUtil = "/usr/bin/softhsm2-util";
constexpr const char* kPkcs11Tool = "/usr/bin/pkcs11-tool";

std::string run(const std::vector<std::string>& args, const fs::path& log, int* status) {
    ChildProcess child(args, log);
    int rc = child.wait_exit(std::chrono::seconds(30));
    if (rc < 0) {
        child.signal(SIGKILL);
        child.wait_exit(std::chrono::seconds(5));
    }
    if (status != nullptr) *status = rc;
    return child.log();
}

std::string module_path() {
    for (const char* p :
         {"/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
          "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so"})
        if (fs::exists(p)) return p;
    return "";
}

std::unique_ptr<SoftHsm> make() {
    auto h = std::make_unique<SoftHsm>();
    h->module = module_path();
    if (h->module.empty() || !fs::exists(kSoftHsmUtil))
        throw std::runtime_error("SoftHSM2 is not installed (apt-get install softhsm2)");
    if (!fs::exists(kPkcs11Tool))
        throw std::runtime_error("pkcs11-tool is not installed (apt-get install opensc)");
    // Not a TempDir: the token must outlive every test of the process (the module keeps it open).
    char templ[] = "/tmp/iotgw-softhsm-XXXXXX";
    if (::mkdtemp(templ) == nullptr) throw std::runtime_error("mkdtemp failed");
    h->dir = templ;
    fs::create_directories(h->dir / "tokens");
    h->conf = h->dir / "softhsm2.conf";
    std::ofstream(h->conf) << "directories.tokendir = " << (h->dir / "tokens").string()
                           << "\nobjectstore.backend = file\nlog.level = ERROR\n";
    ::setenv("SOFTHSM2_CONF", h->conf.c_str(), 1);
    h->pin_file = h->dir / "pin";
    std::ofstream(h->pin_file) << h->pin << "\n";
    fs::permissions(h->pin_file, fs::perms::owner_read | fs::perms::owner_write);
    int status = 0;
    const std::string out = run({kSoftHsmUtil, "--init-token", "--free", "--label", h->token, "--pin", h->pin,
                                 "--so-pin", "13572468"},
                                h->dir / "init.log", &status);
    if (status != 0) throw std::runtime_error("softhsm2-util --init-token failed: " + out);
    // Removed at exit: the process (and the module's hold on the files) ends then.
    static const fs::path cleanup_dir = h->dir;
    std::atexit([] {
        std::error_code ec;
        fs::remove_all(cleanup_dir, ec);
    });
    return h;
}

std::vector<std::string> tool(const std::vector<std::string>& extra) {
    const SoftHsm& h = softhsm();
    std::vector<std::string> args{kPkcs11Tool, "--module", h.module, "--token-label",
                                  h.token,     "--login",  "--pin",  h.pin};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

int counter = 0;

}  // namespace

const SoftHsm& softhsm() {
    static std::unique_ptr<SoftHsm> h = make();
    return *h;
}

std::string list_objects(const std::string& type) {
    return run(tool({"--list-objects", "--type", type}),
               softhsm().dir / ("list-" + std::to_string(++counter) + ".log"), nullptr);
}

std::string private_key_access(const std::string& label) {
    const std::string out = run(tool({"--list-objects", "--type", "privkey", "--label", label}),
                                softhsm().dir / ("attr-" + std::to_string(++counter) + ".log"), nullptr);
    const auto at = out.find("Access:");
    if (at == std::string::npos || out.find("label:      " + label) == std::string::npos) return "";
    const auto end = out.find('\n', at);
    std::string access = out.substr(at + 7, end == std::string::npos ? std::string::npos : end - at - 7);
    access.erase(0, access.find_first_not_of(' '));
    return access;
}

std::string read_private_key_value(const std::string& label, bool* succeeded) {
    int status = 0;
    const fs::path out_file = softhsm().dir / ("value-" + std::to_string(++counter) + ".der");
    const std::string out = run(
        tool({"--read-object", "--type", "privkey", "--label", label, "--output-file", out_file.string()}),
        softhsm().dir / ("read-" + std::to_string(counter) + ".log"), &status);
    *succeeded = status == 0 && fs::exists(out_file) && fs::file_size(out_file) > 0;
    return out;
}

}  // namespace iotgw::test::pkcs11
