// issue-batch: N things with a device certificate each, for fleets of simulated AMRs
// (tests/fleet). One `issue-cert` per thing re-reads and rewrites the whole registry twice per
// thing (create-thing + issue-cert), so N of them cost O(N²): about 38 s for 1,000 on the 2-core
// machine. This generates every key and certificate in memory, writes the files, and registers all
// things and certificates in ONE registry write.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "atomic_file.hpp"
#include "ca.hpp"
#include "cli.hpp"
#include "registry.hpp"

namespace localcore::cli {
namespace {

// Upper bound so a typo (--count 1000000) does not fill the disk; AWS's own bulk registration
// takes files of this order too.
constexpr long kMaxCount = 100000;

long parse_count(const std::string& option, const std::string& text, long lowest, long highest) {
    char* end = nullptr;
    errno = 0;
    const long v = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || errno != 0 || v < lowest || v > highest)
        throw UsageError(option + " must be a whole number from " + std::to_string(lowest) + " to " +
                         std::to_string(highest) + ", not '" + text + "'");
    return v;
}

std::string padded(long n, long digits) {
    std::string s = std::to_string(n);
    if (static_cast<long>(s.size()) < digits) s.insert(0, static_cast<std::size_t>(digits) - s.size(), '0');
    return s;
}

// O_EXCL create + write, no fsync per file: the caller syncs the whole file system once (2,000
// fsyncs of a file and its directory would cost more than the key generation).
void write_exclusive(const std::filesystem::path& path, const std::string& data, mode_t mode) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        throw Error("cannot create " + path.string() + ": " + std::strerror(errno) +
                    "; choose another --out or remove the file");
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const std::string why = std::strerror(errno);
            ::close(fd);
            throw Error("cannot write " + path.string() + ": " + why + "; check the disk");
        }
        done += static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0) throw Error("cannot write " + path.string() + ": " + std::strerror(errno));
}

void sync_filesystem_of(const std::filesystem::path& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const bool ok = fd >= 0 && ::syncfs(fd) == 0;
    if (fd >= 0) ::close(fd);
    if (!ok) throw Error("cannot sync " + dir.string() + ": " + std::strerror(errno) + "; check the disk");
}

}  // namespace

void cmd_issue_batch(const Args& args) {
    args.allow_options({"--prefix", "--count", "--start", "--digits", "--out", "--lifetime", "--policy"});
    args.expect_positional(0, "--data DIR issue-batch --prefix AMR- --count N --out DIR");
    const std::string prefix = args.required_option("--prefix");
    const long count = parse_count("--count", args.required_option("--count"), 1, kMaxCount);
    const long start = parse_count("--start", args.option_or("--start", "1"), 0, 1000000000);
    const long last = start + count - 1;
    const long digits =
        parse_count("--digits", args.option_or("--digits", std::to_string(std::to_string(last).size())), 1, 12);
    const std::filesystem::path out = args.required_option("--out");
    const auto lifetime = parse_lifetime(args.option_or("--lifetime", "1y"));
    const std::string policy = args.option_or("--policy", "device");

    std::vector<std::string> names;
    names.reserve(static_cast<std::size_t>(count));
    for (long n = start; n <= last; ++n) {
        names.push_back(prefix + padded(n, digits));
        validate_thing_name(names.back());
    }

    auto registry = Registry::open(args.data());
    {
        // Refuse before generating anything: no thing may exist yet, the policy must.
        const auto snap = registry.snapshot();
        if (!snap.policies.count(policy))
            throw Error("policy '" + policy + "' does not exist; add it with `localcore put-policy " + policy +
                        " FILE`");
        for (const auto& name : names)
            if (snap.things.count(name))
                throw Error("thing '" + name + "' already exists; choose another --prefix or --start");
    }
    std::error_code ec;
    std::filesystem::create_directories(out, ec);
    if (ec) throw Error("cannot create " + out.string() + ": " + ec.message() + "; check permissions");

    const auto ca = Ca::open(args.data() / "ca");
    struct Issued {
        std::string name, cert_pem;
        CertificateInfo info;
    };
    std::vector<Issued> issued;
    std::vector<std::filesystem::path> written;
    issued.reserve(names.size());
    try {
        for (const auto& name : names) {
            auto cert = ca.issue(name, lifetime);
            const auto key_path = out / (name + ".key");
            write_exclusive(key_path, cert.key_pem, 0600);
            written.push_back(key_path);
            const auto cert_path = out / (name + ".pem");
            write_exclusive(cert_path, cert.cert_pem, 0644);
            written.push_back(cert_path);
            auto info = inspect_certificate_pem(cert.cert_pem);
            issued.push_back({name, std::move(cert.cert_pem), std::move(info)});
        }
        // The keys are on disk before the registry names their certificates.
        sync_filesystem_of(out);
        const auto now =
            std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
                .count();
        registry.update([&](RegistryData& data) {
            if (!data.policies.count(policy))
                throw Error("policy '" + policy + "' was deleted meanwhile; put it back and run again");
            for (const auto& i : issued) {
                if (data.things.count(i.name))
                    throw Error("thing '" + i.name + "' was created meanwhile; choose another --prefix or --start");
                data.things.emplace(i.name, Thing{i.name, {}});
                Certificate c;
                c.id = i.info.fingerprint;
                c.pem = i.cert_pem;
                c.status = CertStatus::Active;
                c.created = now;
                c.not_after = i.info.not_after;
                c.subject_cn = i.info.subject_cn;
                c.things = {i.name};
                c.policies = {policy};
                data.certificates.emplace(c.id, std::move(c));
            }
        });
    } catch (...) {
        for (const auto& p : written) std::filesystem::remove(p, ec);
        throw;
    }
    // One line per thing: what a script needs to find the files and the certificate.
    for (const auto& i : issued) std::cout << i.name << " " << i.info.fingerprint << "\n";
}

}  // namespace localcore::cli
