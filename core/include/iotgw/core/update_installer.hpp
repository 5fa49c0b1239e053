// The root side of a gateway update (docs/remote-jobs.md, "package"): what `iotgw update run`
// does each time iotgw-update.service starts. The service (the `package` job handler) can only
// ask, through files in its own state directory:
//   <request_dir>/request.json   {"job": ID, "document": {the package job's document}}
//   <request_dir>/<ID>.deb       the package it downloaded and verified
//   <request_dir>/confirm.json   {"job": ID, "version": V}: the new version is up and connected
// Everything else is decided here, as root, and written to <work_dir>/state.json, which the
// service reads: the package is copied into <work_dir> without following links and verified
// again with the trusted keys, must be the `iotgw` package at the document's version, is
// installed with dpkg, and is kept only once the new version confirms; otherwise the package
// kept from the last confirmed update is installed back (at once after a failed dpkg, at the
// deadline after an unconfirmed one).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace iotgw::core::update {

struct InstallerPaths {
    std::string request_dir = "/var/lib/iotgw/update";  // the service's (user iotgw)
    std::string work_dir = "/var/lib/iotgw-update";     // root's: state.json, the packages kept
    std::string keys_dir = "/etc/iotgw/update-keys";
    std::string package_name = "iotgw";
    // Tests only: dpkg and dpkg-query act on this scratch root (dpkg --root) instead of /.
    std::string dpkg_root;
};

// state.json. `state`: installing, installed (waiting for the new version's confirmation until
// `deadline`), succeeded, failed, rolled_back, not_confirmed (no package to go back to),
// downgrade_refused (older than the installed version; nothing was installed).
struct InstallRecord {
    std::string job;
    std::string state;
    std::string version;   // the version the job installs
    std::string previous;  // the version that ran before it ("" when none was installed)
    int64_t deadline = 0;  // unix seconds; for "installed"
    std::string reason;    // a sentence for the failed states
};

// What the site allows, set where only root can: iotgw-update.service's command line.
struct InstallerPolicy {
    // Off by default: an older version is refused even when signed, so someone who can make
    // jobs but not sign packages cannot put a fleet back on a release with a known hole. A site
    // that must go back runs `iotgw update run --allow-downgrade` (a drop-in), or publishes the
    // old code under a newer version. The rollback to the kept package is not a downgrade here.
    bool allow_downgrade = false;
};

// Whether Debian version `a` sorts before `b` (dpkg --compare-versions a lt b). Throws
// std::runtime_error when dpkg cannot compare them.
bool is_older_version(const std::string& a, const std::string& b);

class Installer {
public:
    explicit Installer(InstallerPaths paths, InstallerPolicy policy = {});

    // One run, under an exclusive lock: an install an earlier run left unfinished is rolled back
    // first, then a confirmation is taken, then a new request, then an overdue "installed" is
    // rolled back. Returns what it did, one sentence per step (empty: nothing to do).
    std::vector<std::string> run(int64_t now_unix);

    // The record, if any (throws std::runtime_error naming the file when it is damaged).
    bool read_record(InstallRecord& out) const;

    // The installed version of the package ("" when it is not installed).
    std::string installed_version() const;

    // `iotgw update keep`: keeps a package verified against `document_json` and matching the
    // installed version as the rollback target (commissioning, before the first remote update).
    std::string keep(const std::string& package, const std::string& document_json);

private:
    std::string recover_interrupted();
    std::string take_request(int64_t now);
    std::string take_confirmation();
    std::string roll_back_overdue(int64_t now);
    std::string roll_back(InstallRecord r, const std::string& why);
    void write_record(const InstallRecord& r) const;
    std::string dpkg_install(const std::string& deb) const;  // "" on success, else dpkg's last lines
    std::string deb_field(const std::string& deb, const char* field) const;
    // The version dpkg records for the package whatever its state ("" when it has none).
    std::string recorded_version() const;

    InstallerPaths p_;
    InstallerPolicy policy_;
};

// After a run that left a version waiting for its confirmation: a transient systemd timer runs
// `iotgw update run` at the deadline (the unit also runs at boot, since transient timers do not
// survive a reboot). Returns "" when armed or not needed, else why it could not be.
// The timer's run gets the same policy (--allow-downgrade) as the run that arms it.
std::string arm_deadline_timer(const InstallRecord& r, int64_t now_unix, const InstallerPolicy& policy);

}  // namespace iotgw::core::update
