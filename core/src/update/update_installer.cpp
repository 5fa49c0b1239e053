#include "run_process.hpp"

#include <iotgw/core/durable_file.hpp>
#include <iotgw/core/package_document.hpp>
#include <iotgw/core/package_signature.hpp>
#include <iotgw/core/update_installer.hpp>
#include <iotgw/sdk/job_id.hpp>
#include <iotgw/sdk/json_parse.hpp>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>

namespace iotgw::core::update {
namespace {

constexpr size_t kMaxRequestBytes = 64 * 1024;

std::string errno_text() { return std::strerror(errno); }

// A small file in a directory the service can write: never through a link, never a FIFO or a
// device, at most `max` bytes. nullopt when there is none.
std::optional<std::string> read_untrusted(const std::string& path, size_t max) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return std::nullopt;
        throw std::runtime_error("cannot read " + path + ": " + errno_text());
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || static_cast<size_t>(st.st_size) > max) {
        ::close(fd);
        throw std::runtime_error(path + " is not a regular file of at most " + std::to_string(max) +
                                 " bytes");
    }
    std::string text(static_cast<size_t>(st.st_size), '\0');
    size_t have = 0;
    while (have < text.size()) {
        const ssize_t n = ::read(fd, text.data() + have, text.size() - have);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        have += static_cast<size_t>(n);
    }
    ::close(fd);
    text.resize(have);
    return text;
}

// Copies a package out of the service's directory (no link followed, a regular file of exactly
// `size` bytes) into `to`, synced, mode 0600.
void copy_untrusted(const std::string& from, const std::string& to, uint64_t size) {
    const int in = ::open(from.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (in < 0) throw std::runtime_error("cannot read " + from + ": " + errno_text());
    struct stat st {};
    if (::fstat(in, &st) != 0 || !S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) != size) {
        ::close(in);
        throw std::runtime_error(from + " is not a regular file of the " + std::to_string(size) +
                                 " bytes the job names");
    }
    const std::string tmp = to + ".tmp";
    ::unlink(tmp.c_str());
    const int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0) {
        ::close(in);
        throw std::runtime_error("cannot write " + tmp + ": " + errno_text());
    }
    std::array<char, 65536> buf{};
    uint64_t copied = 0;
    bool ok = true;
    while (ok) {
        const ssize_t n = ::read(in, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) ok = false;
        if (n <= 0) break;
        for (ssize_t done = 0; ok && done < n;) {
            const ssize_t w = ::write(out, buf.data() + done, static_cast<size_t>(n - done));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0)
                ok = false;
            else
                done += w;
        }
        copied += static_cast<uint64_t>(n);
    }
    ok = ok && copied == size && ::fsync(out) == 0;
    ::close(out);
    ::close(in);
    if (!ok) {
        ::unlink(tmp.c_str());
        throw std::runtime_error("cannot copy " + from + " to " + to);
    }
    files::rename_durably(tmp, to);
}

std::string last_lines(const std::string& text, size_t lines = 3) {
    std::string t = text;
    while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
    size_t pos = t.size();
    for (size_t i = 0; i < lines && pos != std::string::npos && pos > 0; ++i) pos = t.rfind('\n', pos - 1);
    std::string out = pos == std::string::npos ? t : t.substr(pos + 1);
    for (char& c : out)
        if (c == '\n') c = ' ';
    return out;
}

// Takes what the service left at `path` (read without following a link, then removed, so a bad
// one cannot start the unit again and again) into `out`. Returns "" with `out` an object, or ""
// with `out` null when there is nothing, or the sentence of the refusal.
std::string take_json_object(const std::string& path, const char* what, rapidjson::Document& out) {
    std::optional<std::string> text;
    try {
        text = read_untrusted(path, kMaxRequestBytes);
    } catch (const std::exception& e) {
        files::remove_file_durably(path);
        return std::string(what) + " refused: " + e.what();
    }
    if (!text) return {};
    files::remove_file_durably(path);
    if (auto r = sdk::parse_json(out, *text); !r || !out.IsObject()) {
        out.SetNull();
        return std::string(what) + " refused: " + path + " is not a JSON object";
    }
    return {};
}

}  // namespace

bool is_older_version(const std::string& a, const std::string& b) {
    // 0: a < b; 1: not; anything else: dpkg could not compare (a version it does not parse).
    const auto r = run_process({"dpkg", "--compare-versions", a, "lt", b});
    if (r.status == 0) return true;
    if (r.status == 1) return false;
    throw std::runtime_error("cannot compare the versions " + a + " and " + b + ": " + last_lines(r.output));
}

Installer::Installer(InstallerPaths paths, InstallerPolicy policy) : p_(std::move(paths)), policy_(policy) {}

std::string Installer::installed_version() const {
    std::vector<std::string> argv{"dpkg-query"};
    if (!p_.dpkg_root.empty()) argv.push_back("--root=" + p_.dpkg_root);
    argv.insert(argv.end(), {"-W", "-f=${db:Status-Abbrev} ${Version}", p_.package_name});
    const auto r = run_process(argv);
    if (r.status != 0 || r.output.rfind("ii ", 0) != 0) return {};
    // "ii " (the status), a space, the version.
    std::string version = r.output.substr(3);
    while (!version.empty() && std::isspace(static_cast<unsigned char>(version.back())) != 0)
        version.pop_back();
    while (!version.empty() && std::isspace(static_cast<unsigned char>(version.front())) != 0)
        version.erase(0, 1);
    return version;
}

std::string Installer::recorded_version() const {
    std::vector<std::string> argv{"dpkg-query"};
    if (!p_.dpkg_root.empty()) argv.push_back("--root=" + p_.dpkg_root);
    argv.insert(argv.end(), {"-W", "-f=${Version}", p_.package_name});
    const auto r = run_process(argv);
    if (r.status != 0) return {};
    std::string version = r.output;
    while (!version.empty() && std::isspace(static_cast<unsigned char>(version.back())) != 0)
        version.pop_back();
    return version;
}

std::string Installer::deb_field(const std::string& deb, const char* field) const {
    const auto r = run_process({"dpkg-deb", "-f", deb, field});
    if (r.status != 0) throw std::runtime_error(deb + " is not a Debian package: " + last_lines(r.output));
    std::string v = r.output;
    while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back())) != 0) v.pop_back();
    return v;
}

std::string Installer::dpkg_install(const std::string& deb) const {
    // The unit's start limit (5 starts in 10 minutes) counts every start, dpkg's restarts
    // included: after a few restarts, an update or a rollback would stop the gateway and leave it
    // stopped ("start-limit-hit") until someone came by. Resetting the counter first keeps the
    // restart dpkg's postinst makes. (Not for a test root: its package has no unit.)
    if (p_.dpkg_root.empty()) (void)run_process({"systemctl", "reset-failed", p_.package_name + ".service"});
    std::vector<std::string> argv{"dpkg"};
    if (!p_.dpkg_root.empty()) argv.push_back("--root=" + p_.dpkg_root);
    argv.insert(argv.end(), {"--force-confold", "-i", deb});
    const auto r = run_process(argv);
    if (r.status == 0) return {};
    return "dpkg -i exited with " + std::to_string(r.status) + ": " + last_lines(r.output);
}

bool Installer::read_record(InstallRecord& out) const {
    const std::string path = p_.work_dir + "/state.json";
    if (!files::file_exists(path)) return false;
    const std::string text = files::read_file(path);
    rapidjson::Document doc;
    if (auto r = sdk::parse_json(doc, text); !r || !doc.IsObject())
        throw std::runtime_error(path + " is damaged: " + (r ? std::string("not a JSON object") : r.message));
    auto str = [&](const char* k) -> std::string {
        const auto it = doc.FindMember(k);
        return it != doc.MemberEnd() && it->value.IsString()
                   ? std::string(it->value.GetString(), it->value.GetStringLength())
                   : std::string();
    };
    out.job = str("job");
    out.state = str("state");
    out.version = str("version");
    out.previous = str("previous");
    out.reason = str("reason");
    const auto d = doc.FindMember("deadline");
    out.deadline = d != doc.MemberEnd() && d->value.IsInt64() ? d->value.GetInt64() : 0;
    if (out.state.empty()) throw std::runtime_error(path + " is damaged: it has no \"state\"");
    return true;
}

void Installer::write_record(const InstallRecord& r) const {
    rapidjson::StringBuffer out;
    rapidjson::Writer<rapidjson::StringBuffer> w(out);
    w.StartObject();
    for (const auto& [k, v] : {std::pair<const char*, const std::string*>{"job", &r.job},
                               {"state", &r.state},
                               {"version", &r.version},
                               {"previous", &r.previous},
                               {"reason", &r.reason}}) {
        w.Key(k);
        w.String(v->c_str(), static_cast<rapidjson::SizeType>(v->size()));
    }
    w.Key("deadline");
    w.Int64(r.deadline);
    w.EndObject();
    // Readable by the service (it reads the outcome), writable by root only.
    files::write_file_durably(p_.work_dir + "/state.json", std::string(out.GetString(), out.GetSize()) + "\n",
                              0644);
}

namespace {

// An exclusive lock on <work_dir>/lock for one run: iotgw-update.service and the deadline
// timer's transient service may start together, and neither may take the other's "installing"
// for an interrupted one.
class RunLock {
public:
    explicit RunLock(const std::string& work_dir) {
        const std::string path = work_dir + "/lock";
        fd_ = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd_ < 0) throw std::runtime_error("cannot open " + path + ": " + files::errno_text());
        while (::flock(fd_, LOCK_EX) != 0)
            if (errno != EINTR) throw std::runtime_error("cannot lock " + path + ": " + files::errno_text());
    }
    RunLock(const RunLock&) = delete;
    RunLock& operator=(const RunLock&) = delete;
    ~RunLock() { ::close(fd_); }

private:
    int fd_ = -1;
};

}  // namespace

std::vector<std::string> Installer::run(int64_t now) {
    const RunLock lock(p_.work_dir);
    std::vector<std::string> done;
    if (auto s = recover_interrupted(); !s.empty()) done.push_back(s);
    if (auto s = take_confirmation(); !s.empty()) done.push_back(s);
    if (auto s = take_request(now); !s.empty()) done.push_back(s);
    if (auto s = roll_back_overdue(now); !s.empty()) done.push_back(s);
    return done;
}

std::string Installer::take_request(int64_t now) {
    const std::string path = p_.request_dir + "/request.json";
    rapidjson::Document req;
    if (auto refused = take_json_object(path, "request", req); !refused.empty() || !req.IsObject())
        return refused;
    const auto job_it = req.FindMember("job");
    const auto doc_it = req.FindMember("document");
    if (job_it == req.MemberEnd() || !job_it->value.IsString() ||
        !sdk::is_job_id({job_it->value.GetString(), job_it->value.GetStringLength()}))
        return "request refused: " + path + " has no valid \"job\"";
    const std::string job(job_it->value.GetString(), job_it->value.GetStringLength());
    InstallRecord pending;
    if (read_record(pending) && pending.state == "installed" && pending.job != job)
        return "request of job " + job + " refused: job " + pending.job + "'s version " + pending.version +
               " is still waiting for its confirmation";
    InstallRecord r;
    r.job = job;
    r.previous = installed_version();
    auto fail = [&](const std::string& why) {
        r.state = "failed";
        r.reason = why;
        write_record(r);
        return "job " + job + " failed: " + why;
    };
    if (doc_it == req.MemberEnd() || !doc_it->value.IsObject())
        return fail("the request has no job document");
    rapidjson::StringBuffer doc_text;
    rapidjson::Writer<rapidjson::StringBuffer> w(doc_text);
    doc_it->value.Accept(w);
    auto parsed = parse_package_document({doc_text.GetString(), doc_text.GetSize()});
    if (const auto* problem = std::get_if<PackageDocumentProblem>(&parsed)) return fail(problem->message);
    const auto& doc = std::get<PackageDocument>(parsed);
    r.version = doc.version;

    const std::string staged = p_.request_dir + "/" + job + ".deb";
    const std::string incoming = p_.work_dir + "/incoming.deb";
    try {
        copy_untrusted(staged, incoming, doc.claim.size);
        files::remove_file_durably(staged);
        verify_package(incoming, doc.claim, p_.keys_dir);
        const std::string name = deb_field(incoming, "Package");
        const std::string version = deb_field(incoming, "Version");
        if (name != p_.package_name)
            throw std::runtime_error("the package is " + name + ", not " + p_.package_name);
        if (version != doc.version)
            throw std::runtime_error("the package's version is " + version + ", not the " + doc.version +
                                     " the job names");
    } catch (const std::exception& e) {
        files::remove_file_durably(incoming);
        return fail(e.what());
    }
    try {
        // Against what dpkg records even when it is not fully installed (a half-configured
        // package after a failure): such an AMR must not take any older version either.
        const std::string current = r.previous.empty() ? recorded_version() : r.previous;
        if (!policy_.allow_downgrade && !current.empty() && is_older_version(doc.version, current)) {
            files::remove_file_durably(incoming);
            r.state = "downgrade_refused";
            r.reason = "version " + doc.version + " is older than the installed " + current +
                       "; this AMR installs only newer versions (a site that must go back runs the update "
                       "helper with --allow-downgrade); nothing was installed";
            write_record(r);
            return "job " + job + ": " + r.reason;
        }
    } catch (const std::exception& e) {
        files::remove_file_durably(incoming);
        return fail(e.what());
    }
    if (r.previous == doc.version) {
        files::remove_file_durably(incoming);
        r.state = "succeeded";
        r.reason = "version " + doc.version + " is already installed";
        write_record(r);
        return "job " + job + ": " + r.reason;
    }
    r.state = "installing";
    write_record(r);
    if (auto err = dpkg_install(incoming); !err.empty()) {
        files::remove_file_durably(incoming);
        return "job " + job + ": " +
               roll_back(r, "version " + doc.version + " could not be installed: " + err);
    }
    files::rename_durably(incoming, p_.work_dir + "/candidate.deb");
    r.state = "installed";
    r.deadline = now + doc.confirm_seconds;
    write_record(r);
    return "job " + job + ": version " + doc.version + " installed (was " +
           (r.previous.empty() ? std::string("none") : r.previous) + "); it must confirm within " +
           std::to_string(doc.confirm_seconds) + " s";
}

std::string Installer::take_confirmation() {
    const std::string path = p_.request_dir + "/confirm.json";
    rapidjson::Document c;
    if (auto refused = take_json_object(path, "confirmation", c); !refused.empty() || !c.IsObject())
        return refused;
    const auto job = c.FindMember("job");
    const auto version = c.FindMember("version");
    if (job == c.MemberEnd() || !job->value.IsString() || version == c.MemberEnd() ||
        !version->value.IsString())
        return "confirmation refused: " + path + " needs \"job\" and \"version\"";
    InstallRecord r;
    if (!read_record(r) || r.state != "installed" || r.job != job->value.GetString() ||
        r.version != version->value.GetString())
        return std::string("confirmation of job ") + job->value.GetString() +
               " ignored: no such update is waiting";
    if (installed_version() != r.version)
        return "confirmation of job " + r.job + " ignored: version " + r.version +
               " is not the one installed";
    files::rename_durably(p_.work_dir + "/candidate.deb", p_.work_dir + "/kept.deb");
    r.state = "succeeded";
    r.deadline = 0;
    write_record(r);
    return "job " + r.job + ": version " + r.version + " confirmed; kept as the package to go back to";
}

// "installing" at the start of a run (runs never overlap): the run that wrote it stopped inside
// dpkg (killed, its unit's timeout, a power cut), which may have left the package unpacked but
// not configured. dpkg finishes what it was doing first, then the kept package goes back on; the
// new version's job ends FAILED with this sentence rather than running a version nobody confirmed.
std::string Installer::recover_interrupted() {
    InstallRecord r;
    if (!read_record(r) || r.state != "installing") return {};
    std::vector<std::string> argv{"dpkg"};
    if (!p_.dpkg_root.empty()) argv.push_back("--root=" + p_.dpkg_root);
    argv.insert(argv.end(), {"--force-confold", "--configure", "-a"});
    (void)run_process(argv);  // its failure shows in the reinstall below
    files::remove_file_durably(p_.work_dir + "/incoming.deb");
    return "job " + r.job + ": " +
           roll_back(r, "the install of version " + r.version +
                            " was interrupted (the helper was stopped or the power failed)");
}

std::string Installer::roll_back_overdue(int64_t now) {
    InstallRecord r;
    if (!read_record(r) || r.state != "installed" || now < r.deadline) return {};
    return "job " + r.job + ": " +
           roll_back(r, "version " + r.version +
                            " did not confirm before its deadline (it did not start, "
                            "connect or report)");
}

std::string Installer::roll_back(InstallRecord r, const std::string& why) {
    files::remove_file_durably(p_.work_dir + "/candidate.deb");
    const std::string kept = p_.work_dir + "/kept.deb";
    r.deadline = 0;
    if (!files::file_exists(kept)) {
        r.state = r.state == "installed" ? "not_confirmed" : "failed";
        r.reason = why + "; no earlier package is kept to go back to";
    } else if (auto err = dpkg_install(kept); !err.empty()) {
        r.state = "failed";
        r.reason = why + "; reinstalling the kept package failed too: " + err;
    } else {
        r.state = "rolled_back";
        r.reason = why + "; version " + installed_version() + " was installed back";
    }
    write_record(r);
    return r.reason;
}

std::string arm_deadline_timer(const InstallRecord& r, int64_t now, const InstallerPolicy& policy) {
    if (r.state != "installed" || r.deadline <= now) return {};
    (void)run_process({"systemctl", "stop", "iotgw-update-deadline.timer"});  // an earlier one, if any
    // The timer's run may take a request too: it runs under the same policy as this one.
    std::vector<std::string> argv{"systemd-run",
                                  "--quiet",
                                  "--unit=iotgw-update-deadline",
                                  "--on-active=" + std::to_string(r.deadline - now) + "s",
                                  "--timer-property=AccuracySec=1s",
                                  "/usr/bin/iotgw",
                                  "update",
                                  "run"};
    if (policy.allow_downgrade) argv.emplace_back("--allow-downgrade");
    const auto armed = run_process(argv);
    if (armed.status == 0) return {};
    return "cannot arm the deadline timer (systemd-run: " + last_lines(armed.output, 1) + "); version " +
           r.version + " is rolled back at the next start of iotgw-update.service after its deadline";
}

std::string Installer::keep(const std::string& package, const std::string& document_json) {
    auto parsed = parse_package_document(document_json);
    if (const auto* problem = std::get_if<PackageDocumentProblem>(&parsed))
        throw std::runtime_error(problem->message);
    const auto& doc = std::get<PackageDocument>(parsed);
    verify_package(package, doc.claim, p_.keys_dir);
    const std::string installed = installed_version();
    if (deb_field(package, "Package") != p_.package_name || deb_field(package, "Version") != installed)
        throw std::runtime_error(package + " is not the installed " + p_.package_name + " " +
                                 (installed.empty() ? std::string("(none is installed)") : installed));
    copy_untrusted(package, p_.work_dir + "/kept.deb", doc.claim.size);
    return "kept " + package + " (version " + installed + ") as the package to go back to";
}

}  // namespace iotgw::core::update
