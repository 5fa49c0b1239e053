// disk_report: an example job handler (plugin ABI 1.3), built out of tree against the installed
// SDK like any third party's.
//
// A remote job {"operation":"disk_report"} ends SUCCEEDED with the space of the file system that
// holds `path` (where the robot keeps its maps and logs, say) in the execution's status details.
// With "min_free_mb": N in the document it also checks that N MB fit there (before a map or a
// package is sent), and the job ends FAILED "not_enough_space" when they do not. The directory
// comes from the site's config, never from the document: the cloud does not choose what the
// gateway looks at.
//
// It ends inside start_job, as the in-tree `health` handler does; the report's calls are posted,
// so the jobs processor hears the end on the loop afterwards. The document is parsed with
// <iotgw/sdk/json_parse.hpp> (the SDK's json component: RapidJSON).
#include <iotgw/sdk.hpp>
#include <iotgw/sdk/job_details.hpp>
#include <iotgw/sdk/json_parse.hpp>

#include <sys/statvfs.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <variant>

namespace {

using iotgw::sdk::Field;

constexpr iotgw_config_field kFields[] = {
    Field::path("path", "A directory whose file system's space a disk_report job reports.").required(),
};

// What the document asks, or why it is refused (the job then ends REJECTED, nothing looked at).
struct Request {
    std::optional<uint64_t> min_free_mb;
};
struct Invalid {
    std::string message;
};

std::variant<Request, Invalid> parse_document(const std::string& text) {
    iotgw::sdk::MessageDocument doc;
    if (auto r = iotgw::sdk::parse_json(doc, text); !r)
        return Invalid{"the job document is not JSON: " + r.message};
    if (!doc.IsObject()) return Invalid{"the job document is not a JSON object"};
    Request out;
    for (const auto& m : doc.GetObject()) {
        const std::string key(m.name.GetString(), m.name.GetStringLength());
        if (key == "operation") continue;
        if (key != "min_free_mb")
            return Invalid{"unknown key \"" + key + R"(" (a disk_report job may have "min_free_mb"))"};
        if (!m.value.IsUint64()) return Invalid{R"("min_free_mb" is not a whole number of MB)"};
        out.min_free_mb = m.value.GetUint64();
    }
    return out;
}

class DiskReport final : public iotgw::sdk::JobHandler {
public:
    DiskReport(iotgw::sdk::Host host, const iotgw::sdk::Config& cfg)
        : JobHandler(host), path_(cfg.string("path")) {}

    std::string operations() const override { return "disk_report"; }
    // statvfs() answers at once on a local file system; a hung network mount would block the
    // loop, and the jobs processor then fails the job after this long.
    std::chrono::milliseconds step_timeout() const override { return std::chrono::seconds(10); }

    void start_job(iotgw::sdk::Job job, iotgw::sdk::JobReport report) override {
        const auto request = parse_document(job.document);
        if (const auto* invalid = std::get_if<Invalid>(&request)) {
            report.reject("invalid_document", invalid->message);
            return;
        }
        const auto min_free_mb = std::get<Request>(request).min_free_mb;

        struct statvfs fs {};
        if (statvfs(path_.c_str(), &fs) != 0) {
            const int err = errno;
            report.fail("unreadable", "cannot read the file system of " + path_ + ": " + std::strerror(err));
            return;
        }
        constexpr uint64_t kMiB = 1024 * 1024;
        const uint64_t unit = fs.f_frsize;
        const uint64_t free_mb = fs.f_bavail * unit / kMiB;  // what a non-root process may still use
        const uint64_t total_mb = fs.f_blocks * unit / kMiB;
        // As df counts it: used against used + available (root's reserve left out).
        const uint64_t used = fs.f_blocks - fs.f_bfree;
        const uint64_t usable = used + fs.f_bavail;
        const uint64_t used_percent = usable == 0 ? 0 : (used * 100 + usable - 1) / usable;

        // statusDetails values are strings (AWS), and none may be empty: min_free_mb only if asked.
        const std::string details =
            min_free_mb ? iotgw::sdk::job_details({{"path", path_},
                                                   {"free_mb", std::to_string(free_mb)},
                                                   {"total_mb", std::to_string(total_mb)},
                                                   {"used_percent", std::to_string(used_percent)},
                                                   {"min_free_mb", std::to_string(*min_free_mb)}})
                        : iotgw::sdk::job_details({{"path", path_},
                                                   {"free_mb", std::to_string(free_mb)},
                                                   {"total_mb", std::to_string(total_mb)},
                                                   {"used_percent", std::to_string(used_percent)}});
        host().info("disk report for job ", job.id, ": ", free_mb, " MB free of ", total_mb, " MB in ",
                    path_);
        if (min_free_mb && free_mb < *min_free_mb) {
            report.fail("not_enough_space",
                        std::to_string(*min_free_mb) + " MB asked, " + std::to_string(free_mb) +
                            " MB free in " + path_,
                        details);
            return;
        }
        report.succeed(details);
    }

    void cancel_job(const std::string&) override {}  // ends inside start_job: nothing runs

private:
    const std::string path_;
};

}  // namespace

IOTGW_DECLARE_PLUGIN(DiskReport,
                     {.abi_major = 1,
                      .abi_minor = 3,
                      .name = "disk_report",
                      .version = "1.0.0",
                      .description = "Job handler of the operation \"disk_report\": the free space of a "
                                     "configured directory's file system in the job's status details.",
                      .fields = kFields})
