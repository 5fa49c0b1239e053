// `file`: credentials from PEM files (certificate chain, private key, optional trust anchors).
// Everything is checked at create, so `iotgw check` and `iotgw run` refuse a bad key or an
// expired certificate before any connection tries (and fails with a vague TLS error).
// Rotation replaces the files atomically; credentials() notices the change and re-checks, and
// keeps handing out the last good files (through their still-open descriptors) if the new ones
// are not usable.
// Renewal on the device (ABI 1.1, renewal_store.hpp): a new key is made here and never leaves;
// the issued certificate waits as pending until it is promoted, the replaced pair is kept as the
// backup until the next promotion, and every step is atomic on disk. The work is a few
// milliseconds (a P-256 key, some fsyncs) once a year, so it runs on the loop; the completion is
// still delivered asynchronously, as the ABI requires.
#include "pem_check.hpp"
#include "renewal_store.hpp"
#include "schema.hpp"

#include <cerrno>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>

namespace iotgw::plugins::file {
namespace {

constexpr int64_t kDay = 24 * 60 * 60;
constexpr auto kRecheckPeriod = std::chrono::hours(1);

int64_t now_unix() { return static_cast<int64_t>(std::time(nullptr)); }

std::string days_text(std::chrono::milliseconds d) {
    const auto s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
    if (s % kDay == 0) return std::to_string(s / kDay) + "d";
    if (s % 3600 == 0) return std::to_string(s / 3600) + "h";
    return std::to_string(s) + "s";
}

struct Fingerprint {
    std::optional<FileId> cert, key, ca;
    bool operator==(const Fingerprint&) const = default;
};

class FileCredentials final : public sdk::CredentialsProvider {
public:
    static constexpr bool supports_renewal = true;

    FileCredentials(sdk::Host host, const sdk::Config& cfg)
        : CredentialsProvider(host),
          paths_{cfg.string("cert"), cfg.string("key"), cfg.optional_string("ca").value_or("")},
          slots_(paths_.cert, paths_.key),
          expiry_warning_(cfg.duration("expiry_warning")),
          await_provisioning_(cfg.boolean("await_provisioning")),
          recovered_(recover()),
          good_(initial_check()) {}

    void start() override {
        days_gauge_ = host().gauge("days_to_expiry", "days until the certificate expires");
        if (!good_) {
            if (!exists(paths_.cert) && !exists(paths_.key)) {
                if (!await_provisioning_) throw sdk::Error(not_provisioned());
                host().notice("waiting for provisioning to create ", paths_.cert, " and ", paths_.key,
                              " (await_provisioning = true)");
                return;
            }
            // they appeared since create: check them now
            good_ = check_files(paths_, now_unix(), await_provisioning_ ? DateCheck::dates_later : DateCheck::enforce);
        }
        announce();
        arm_recheck();
    }

    void renew(sdk::RenewalOp op, std::string input, RenewalCompletion done) override {
        common::run_renewal_op(
            host(), slots_, op, input, done,
            [this](const std::string& common_name) {
                std::string csr = create_pending_key(slots_, common_name);
                host().notice("created a new key ", slots_.key_pending, " and its CSR");
                return csr;
            },
            [this](const char* reason) { after_switch(reason); });
    }

    // The weaker CreateKeysAndCertificate method of fleet_provisioning: the key was made by AWS.
    void import_pair(std::string chain_and_key_pem, RenewalCompletion done) override {
        try {
            import_pending_pair(slots_, chain_and_key_pem);
        } catch (const std::exception& e) {
            done.fail(std::string("import a key pair failed: ") + e.what());
            return;
        }
        host().warning("stored a key pair made outside this device as pending: ", slots_.key_pending,
                       " (CreateKeysAndCertificate; the key crossed the network)");
        done.succeed();
    }

    sdk::Credentials pending_credentials() override {
        Paths pending{slots_.cert_pending, slots_.key_pending, paths_.ca};
        if (!exists(pending.cert) || !exists(pending.key))
            throw sdk::Error("there is no pending key and certificate (" + pending.key + ", " + pending.cert + ")",
                             IOTGW_ERR_NOT_FOUND);
        CheckedFiles checked = check_files(pending, now_unix());
        sdk::Credentials c;
        c.cert_chain_path = pending.cert;
        c.private_key_path = pending.key;
        c.ca_path = pending.ca;
        c.not_after_unix = checked.not_after;
        return c;
    }

    void stop() noexcept override { recheck_.reset(); }

    sdk::Credentials credentials() override {
        refresh();
        if (!good_) throw sdk::Error(not_provisioned());
        const int64_t now = now_unix();
        if (now > good_->not_after) {
            throw sdk::Error("certificate " + paths_.cert + " expired at " + iso8601_utc(good_->not_after) +
                             ", now is " + iso8601_utc(now) + ": renew it and replace `cert` and `key`");
        }
        if (now < good_->not_before) {
            throw sdk::Error("certificate " + paths_.cert + " is not valid yet: valid from " +
                             iso8601_utc(good_->not_before) + ", now is " + iso8601_utc(now) +
                             " (is the system clock right?)");
        }
        sdk::Credentials c;
        if (on_disk_is_good_) {
            c.cert_chain_path = paths_.cert;
            c.private_key_path = paths_.key;
            c.ca_path = paths_.ca;
        } else {
            // The paths now name unusable files; the descriptors still reach the checked ones.
            c.cert_chain_path = fd_path(good_->cert);
            c.private_key_path = fd_path(good_->key);
            c.ca_path = paths_.ca.empty() ? "" : fd_path(good_->ca);
        }
        c.not_after_unix = good_->not_after;
        return c;
    }

private:
    void arm_recheck() {
        if (recheck_) return;
        recheck_.emplace(host().timer([this] {
            refresh();
            recheck_->arm_at(recheck_->deadline_ns() + std::chrono::nanoseconds(kRecheckPeriod).count());
        }));
        recheck_->arm_in(kRecheckPeriod);
    }

    // After a promotion or rollback: check the new current pair now (an unusable one is never
    // handed out, see refresh) and tell the connections that use this instance.
    void after_switch(const char* reason) {
        refresh();  // checks the new pair and logs its expiry
        arm_recheck();
        try {
            host().publish_event("changed", std::string("{\"reason\":\"") + reason + "\"}");
        } catch (const std::exception& e) {
            host().warning("cannot announce the changed credentials: ", e.what());
        }
    }

    std::optional<std::string> recover() {
        auto what = recover_slots(slots_);
        if (what) host().notice("credential files: ", *what);
        return what;
    }

    static std::string fd_path(const Fd& fd) { return "/proc/self/fd/" + std::to_string(fd.get()); }
    static bool exists(const std::string& path) {
        std::error_code ec;
        // An error other than "not found" (e.g. EACCES) counts as present: the check then says why.
        return std::filesystem::exists(path, ec) || (ec && ec.value() != ENOENT);
    }

    // A device that is not provisioned yet has neither file (its first boot creates them), and
    // a site template (configs/aws.toml) names them before they exist: that is not a config
    // error, only a reason not to start. With await_provisioning an expired (or not yet valid)
    // certificate is not one either: fleet_provisioning replaces it (a device that slept past
    // its expiry) and credentials() refuses it meanwhile. Anything else wrong is refused now.
    std::optional<CheckedFiles> initial_check() {
        if (!exists(paths_.cert) && !exists(paths_.key)) {
            host().warning(not_provisioned());
            return std::nullopt;
        }
        return check_files(paths_, now_unix(), await_provisioning_ ? DateCheck::dates_later : DateCheck::enforce);
    }

    std::string not_provisioned() const {
        return "neither the certificate " + paths_.cert + " nor the key " + paths_.key +
               " exists yet: the device is not provisioned (or `cert`/`key` name the wrong files); "
               "the gateway cannot connect until they exist";
    }

    Fingerprint good_fingerprint() const {
        if (!good_) return {};
        return {good_->cert_id, good_->key_id, good_->ca_id};
    }

    Fingerprint on_disk() const {
        return {file_id(paths_.cert), file_id(paths_.key),
                paths_.ca.empty() ? std::nullopt : file_id(paths_.ca)};
    }

    // Re-check when a file changed since the last check (mtime, size or inode).
    void refresh() {
        // Never provisioned and nothing on disk yet (the factory step or provisioning is still to
        // come; create and start said so): credentials() reports it, it is no error to log.
        if (!good_ && !exists(paths_.cert) && !exists(paths_.key)) return;
        const Fingerprint now_on_disk = on_disk();
        if (good_ && now_on_disk == good_fingerprint()) {
            on_disk_is_good_ = true;
            failed_.reset();
        } else if (!failed_ || *failed_ != now_on_disk) {
            try {
                good_ = check_files(paths_, now_unix());
                on_disk_is_good_ = true;
                failed_.reset();
                host().notice("the credential files changed and were checked");
                announce();
                return;
            } catch (const sdk::Error& e) {
                failed_ = now_on_disk;
                on_disk_is_good_ = false;
                if (good_)
                    host().error("the credential files changed but cannot be used, so the previous ones are kept: ",
                                 e.what());
                else
                    host().error("the credential files cannot be used: ", e.what());
            }
        }
        if (good_) update_expiry(false);
    }

    void announce() {
        const int64_t left = good_->not_after - now_unix();
        if (left < 0) {  // only with await_provisioning (dates_later)
            host().warning("certificate ", good_->common_name, " ", good_->serial, " expired at ",
                           iso8601_utc(good_->not_after), ": it is not used; waiting for provisioning to replace ",
                           paths_.cert, " and ", paths_.key, " (await_provisioning = true)");
            days_gauge_.set(static_cast<double>(left) / static_cast<double>(kDay));
            return;
        }
        host().notice("certificate ", good_->common_name, " ", good_->serial, " valid until ",
                      iso8601_utc(good_->not_after), " (", left / kDay, " days left)");
        update_expiry(true);
    }

    // Sets the gauge; warns when expiry is near (at start, after a change, then once a day).
    void update_expiry(bool warn_now) {
        const int64_t now = now_unix();
        const int64_t left = good_->not_after - now;
        days_gauge_.set(static_cast<double>(left) / static_cast<double>(kDay));
        const auto warning_s = std::chrono::duration_cast<std::chrono::seconds>(expiry_warning_).count();
        if (left >= warning_s) return;
        if (!warn_now && now - last_warning_ < kDay) return;
        last_warning_ = now;
        host().warning("certificate ", good_->common_name, " expires in ", left / kDay, " days, at ",
                       iso8601_utc(good_->not_after), " (expiry_warning is ", days_text(expiry_warning_),
                       "): renew it and replace ", paths_.cert, " and ", paths_.key);
    }

    const Paths paths_;
    const SlotPaths slots_;
    const std::chrono::milliseconds expiry_warning_;
    const bool await_provisioning_;
    const std::optional<std::string> recovered_;
    std::optional<CheckedFiles> good_;  // nullopt: not provisioned yet
    bool on_disk_is_good_ = true;
    std::optional<Fingerprint> failed_;  // the unusable state already reported
    int64_t last_warning_ = 0;
    sdk::Gauge days_gauge_;
    std::optional<sdk::Timer> recheck_;
};

}  // namespace
}  // namespace iotgw::plugins::file

IOTGW_DECLARE_PLUGIN(iotgw::plugins::file::FileCredentials,
                     {.abi_major = 1,
                      .abi_minor = 1,
                      .name = "file",
                      .version = "1.1.0",
                      .description = "Certificate chain and private key from PEM files, checked before use.",
                      .fields = iotgw::plugins::file::kFields})
