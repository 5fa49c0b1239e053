// `fleet_provisioning`: gives the gateway its production certificate and keeps it fresh, through
// AWS IoT fleet provisioning with a claim certificate (docs/aws-iot-core.md sections 5 and 6).
//
// - First boot (the production credentials are missing or unusable): the production provider
//   makes a key and a CSR; over a claim connection (own client id `claim-<thing>`, so the
//   production connection is never taken over) CreateCertificateFromCsr and RegisterThing give
//   the certificate (claim_exchange.hpp), which is stored as pending and promoted; the production connection
//   then connects with it (it reconnects on the provider's "changed" event).
// - Rotation ahead of expiry (a share of the lifetime, or a minimum time before expiry, plus
//   jitter): the same exchange while the production connection keeps serving. The new
//   certificate is proven by the production connection itself: it is promoted, the connection
//   switches (one clean reconnect; its offline queue holds what is published meanwhile) and must
//   report a connection with the NEW certificate id within `prove_timeout`, else the previous
//   pair is restored (rollback). A separate proving connection would need the thing name as
//   client id (the device policy allows no other) and would take over the live session anyway.
//   Once proven, the gateway reports on amr/<thing>/certificate/rotated (through a pipeline to
//   the production connection) and the backend makes the old certificate INACTIVE. A report
//   the backend never answers goes to the durable list of pending reports (pending_reports.hpp),
//   sent again one at a time with backoff after every reconnect until the backend answers each,
//   so a later rotation cannot make the gateway forget it.
// - Recovery: when the broker keeps refusing the production connection's certificate although
//   this gateway checked it itself (valid dates, matching key), it is probably revoked or
//   inactive; the same exchange gets a new one. Only refusals count (the link event's
//   `refusals`, plugins/mqtt/connect_failure.hpp), not an unreachable, slow or throttling
//   endpoint: an outage or a reconnect storm must not make a whole fleet re-provision once the
//   endpoint is back. A recovery first waits a random delay within `recover_spread` (a fleet
//   refused at once, e.g. after its CA was deactivated, must not call the provisioning API in
//   the same second) and is abandoned if the connection succeeds meanwhile. An expired or
//   missing certificate provisions.
// - Expiry is judged only on a trustworthy clock (clock_gate.hpp): never on one earlier than the
//   build, and only after a bounded wait for NTP synchronisation.
// - Restarts: a rotation record (rotation_record.hpp) and the provider's pending slot let a
//   gateway killed at any step finish or undo the attempt at the next start
//   (interrupted_attempt.hpp).
// - Failures keep the current certificate and retry with exponential backoff and full jitter. A
//   refusal (RegisterThing 403 / AccessDenied: the pre-provisioning hook said no, e.g. a locked
//   thing) is retried on its own backoff that grows to hours, so a locked device does not storm
//   the backend; a success resets it.
// - claim_scope = "device" (claim_binding.hpp): a claim certificate that names another device
//   is a config error in `iotgw check` (a dry run, where the host can read the claim credentials
//   at create) and stops provisioning at start; "fleet" (a fleet-wide claim certificate) is warned
//   at every start.
#include "claim_binding.hpp"
#include "claim_exchange.hpp"
#include "clock_gate.hpp"
#include "interrupted_attempt.hpp"
#include "pending_reports.hpp"
#include "provisioning_messages.hpp"
#include "rotation_record.hpp"
#include "rotation_schedule.hpp"
#include "schema.hpp"

#include <iotgw/plugins/common/backoff.hpp>
#include <iotgw/plugins/common/cert_fields.hpp>
#include <iotgw/plugins/common/certificate_info.hpp>
#include <iotgw/plugins/common/fault_point.hpp>
#include <iotgw/plugins/common/seconds_text.hpp>

#include <rapidjson/document.h>
#include <iotgw/sdk/json_parse.hpp>

#include <chrono>
#include <ctime>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace iotgw::plugins::fleet_provisioning {
namespace {

using common::fault_point;
using common::read_certificate_info;
using common::seconds_text;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int64_t kDay = 24 * 3600;
// Long sleeps are re-evaluated at least this often (suspend, clock steps).
constexpr seconds kReevaluate{6 * 3600};
constexpr int kReportTries = 3;

int64_t now_unix() { return static_cast<int64_t>(std::time(nullptr)); }

using common::iso8601_utc;

std::string short_id(const std::string& id) { return id.substr(0, 12); }

enum class Phase { idle, requesting, proving, reporting };
enum class Purpose { provision, rotate, recover };

const char* purpose_name(Purpose p) {
    switch (p) {
        case Purpose::provision:
            return "provisioning";
        case Purpose::rotate:
            return "rotation";
        case Purpose::recover:
            return "recovery";
    }
    return "?";
}

using SteadyClock = std::chrono::steady_clock;

class FleetProvisioning final : public sdk::Source {
public:
    static constexpr bool accepts_messages = true;

    FleetProvisioning(sdk::Host host, const sdk::Config& cfg)
        : Source(host),
          credentials_(cfg.string("credentials")),
          claim_credentials_(cfg.string("claim_credentials")),
          connection_(cfg.string("connection")),
          endpoint_(cfg.string("endpoint")),
          port_(static_cast<int>(cfg.integer("port"))),
          alpn_(cfg.string("alpn")),
          client_id_(cfg.string("client_id")),
          template_(cfg.string("template")),
          parameters_(cfg.map("parameters")),
          subject_(cfg.string("subject")),
          request_timeout_(cfg.duration("request_timeout")),
          prove_timeout_(cfg.duration("prove_timeout")),
          recover_after_(cfg.integer("recover_after")),
          recover_spread_(cfg.duration("recover_spread")),
          create_keys_(cfg.string("method") == "create_keys"),
          claim_scope_(cfg.string("claim_scope") == "fleet" ? ClaimScope::fleet : ClaimScope::device),
          backoff_({.min = cfg.duration("retry_min"), .max = cfg.duration("retry_max")}),
          refused_backoff_(
              {.min = cfg.duration("refused_retry_min"), .max = cfg.duration("refused_retry_max")}),
          refused_retry_max_(cfg.duration("refused_retry_max")),
          report_backoff_({.min = cfg.duration("retry_min"), .max = cfg.duration("retry_max")}),
          attempts_(host.counter("attempts", "provisioning and rotation attempts started")),
          succeeded_(
              host.counter("succeeded", "provisionings and rotations that ended with a proven certificate")),
          failed_(host.counter("failed", "attempts that failed (the current certificate was kept)")),
          rollbacks_(host.counter("rollbacks", "new certificates that did not connect and were rolled back")),
          refused_(host.counter("refused",
                                "attempts the backend refused (RegisterThing 403 / AccessDenied, or a claim "
                                "certificate for another device)")),
          days_left_(host.gauge("days_to_expiry", "days until the production certificate expires")),
          timer_(host.timer([this] { on_timer(); })),
          phase_timer_(host.timer([this] { on_phase_timeout(); })),
          report_timer_(host.timer([this] { on_report_timer(); })),
          recover_timer_(host.timer([this] { on_recover_timer(); })) {
        policy_.share = cfg.number("rotate_at");
        policy_.before_s = std::chrono::duration_cast<seconds>(cfg.duration("rotate_before")).count();
        policy_.jitter_s = std::chrono::duration_cast<seconds>(cfg.duration("jitter")).count();
        if (policy_.share <= 0.0)
            throw sdk::ConfigError("'rotate_at' must be above 0 (a share of the lifetime)");
        if (cfg.duration("retry_max") < cfg.duration("retry_min"))
            throw sdk::ConfigError("'retry_max' must not be shorter than 'retry_min'");
        if (cfg.duration("refused_retry_max") < cfg.duration("refused_retry_min"))
            throw sdk::ConfigError("'refused_retry_max' must not be shorter than 'refused_retry_min'");
        if (credentials_ == claim_credentials_)
            throw sdk::ConfigError("'credentials' and 'claim_credentials' name the same instance '" +
                                   credentials_ + "': the claim certificate must be a separate one");
        if (client_id_ == host.thing())
            throw sdk::ConfigError(
                "'client_id' is the thing name: the claim connection would take over the "
                "production connection; use e.g. \"claim-${thing}\"");
        if (alpn_.empty() && port_ == 443) alpn_ = "x-amzn-mqtt-ca";
        clock_.emplace(host, earliest_time_setting(cfg.string("earliest_time")), cfg.duration("clock_wait"),
                       cfg.string("clock_sync_file"));
        if (template_.empty() || template_.size() > 36 ||
            template_.find_first_not_of("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-") !=
                std::string::npos)
            throw sdk::ConfigError("'template' must match [0-9A-Za-z_-]{1,36} ('" + template_ + "')");
        if (claim_scope_ == ClaimScope::device) refuse_claim_for_another_device();
    }

    ~FleetProvisioning() override { *alive_ = false; }

    void start() override {
        if (!sdk::Host::can_renew_credentials())
            throw sdk::Error("this gateway does not offer credential renewal (ABI 1.1 or newer is needed)");
        if (create_keys_)
            host().warning(
                "method = \"create_keys\": AWS makes the private key and sends it over the claim "
                "connection; with \"csr\" it never leaves the device (use it unless the "
                "provisioning side cannot sign CSRs)");
        if (claim_scope_ == ClaimScope::fleet)
            host().warning(
                "claim_scope = \"fleet\": fleet-wide claim certificate: any device holding it can register "
                "any serial; see docs/runbook-ja.md");
        else if (const std::string problem = claim_binding(); !problem.empty())
            throw sdk::Error(problem);
        link_ =
            host().subscribe_events("$iotgw/instance/" + connection_ + "/link",
                                    [this](std::string_view, std::string_view payload) { on_link(payload); });
        evaluate();
    }

    void stop() noexcept override {
        stopped_ = true;
        timer_.cancel();
        phase_timer_.cancel();
        report_timer_.cancel();
        recover_timer_.cancel();
        link_.reset();
        if (session_) session_->close();
    }

    // Replies to the rotation report: amr/<thing>/certificate/rotated/accepted|rejected.
    void on_message(const sdk::Delivery&, uint32_t, const sdk::Message& m) override {
        const std::string topic(m.topic);
        const std::string payload(m.payload);
        const bool accepted = topic.ends_with("/accepted");
        if (!accepted && !topic.ends_with("/rejected")) return;
        if (on_pending_reply(reply_client_token(payload), accepted, payload)) return;
        if (phase_ != Phase::reporting || reply_client_token(payload) != report_token_) {
            host().debug("ignoring a rotation reply that is not for the current report: ", topic);
            return;
        }
        phase_timer_.cancel();
        phase_ = Phase::idle;
        forget_record();
        const char* what = purpose_ == Purpose::recover ? "recovery succeeded" : "rotation succeeded";
        if (accepted)
            host().notice(what, ": certificate ", short_id(new_cert_id_), " is in use and the old one ",
                          short_id(old_cert_id_), " is now INACTIVE");
        else if (purpose_ == Purpose::recover)
            host().warning(what, ": certificate ", short_id(new_cert_id_), " is in use; the backend did not ",
                           "deactivate the refused one ", short_id(old_cert_id_), " (",
                           describe_rotation_rejection(payload),
                           "; a REVOKED certificate stays revoked, which is what is wanted)");
        else
            host().warning(what, ": certificate ", short_id(new_cert_id_),
                           " is in use, but the backend refused to deactivate the old one ",
                           short_id(old_cert_id_), " (", describe_rotation_rejection(payload),
                           "); it stays ACTIVE until an operator acts");
        succeeded_.add();
        evaluate();
    }

private:
    // ---- scheduling ----

    void evaluate() {
        if (stopped_) return;
        phase_ = Phase::idle;
        if (const auto again = clock_->check()) {
            timer_.arm_in(*again);
            return;
        }
        if (!resumed_) {
            resumed_ = true;
            if (resume_after_restart()) return;
        }
        sdk::Credentials creds;
        try {
            creds = host().credentials(credentials_);
        } catch (const std::exception& e) {
            host().warning("the production credentials cannot be used (", e.what(),
                           "): provisioning through the claim certificate");
            begin(Purpose::provision);
            return;
        }
        const auto info = read_certificate_info(creds.cert_chain_path);
        if (!info) {
            host().error("cannot read the production certificate ", creds.cert_chain_path,
                         "; checking again in ", kReevaluate.count() / 3600, " h");
            timer_.arm_in(kReevaluate);
            return;
        }
        if (info->id != jitter_for_) {
            jitter_for_ = info->id;
            jitter_unit_ = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
        }
        const int64_t now = now_unix();
        const int64_t due = rotation_due(info->not_before, info->not_after, policy_, jitter_unit_);
        days_left_.set(static_cast<double>(info->not_after - now) / static_cast<double>(kDay));
        if (now - last_expiry_log_ >= kDay || info->id != logged_for_) {
            last_expiry_log_ = now;
            logged_for_ = info->id;
            host().notice("certificate ", short_id(info->id), " expires in ", (info->not_after - now) / kDay,
                          " days, at ", iso8601_utc(info->not_after), "; rotation ",
                          due <= now ? std::string("due now") : "planned at " + iso8601_utc(due));
        }
        current_cert_id_ = info->id;
        current_cert_path_ = creds.cert_chain_path;
        open_pending_reports();
        if (due <= now) {
            begin(Purpose::rotate);
            return;
        }
        timer_.arm_in(std::min<std::chrono::nanoseconds>(seconds(due - now), kReevaluate));
    }

    void on_timer() {
        if (phase_ == Phase::idle) evaluate();
    }

    // ---- after a restart ----

    // Finishes what a restart interrupted (interrupted_attempt.hpp); true when that started an attempt.
    bool resume_after_restart() {
        const RestartFindings found = find_interrupted_attempt(host(), credentials_);
        if (!found.current_cert_path.empty()) current_cert_path_ = found.current_cert_path;
        open_pending_reports();
        if (!found.attempt) return false;
        const InterruptedAttempt& a = *found.attempt;
        if (a.step == InterruptedAttempt::Step::prove_rotation) {
            host().notice("resuming a rotation a restart interrupted: certificate ", short_id(a.new_id),
                          " replaced ", short_id(a.old_id), "; proving it and reporting the switch");
            purpose_ = Purpose::rotate;
            old_cert_id_ = a.old_id;
            new_cert_id_ = a.new_id;
            attempts_.add();
            await_proof();
            return true;
        }
        purpose_ = a.old_id.empty() ? Purpose::provision : Purpose::rotate;
        old_cert_id_ = a.old_id;
        new_cert_id_ = a.new_id;
        host().notice("finishing the ", purpose_name(purpose_), " a restart interrupted: certificate ",
                      short_id(new_cert_id_), " was issued and stored; promoting it");
        attempts_.add();
        phase_ = Phase::requesting;
        promote_and_prove();
        return true;
    }

    void forget_record() { forget_rotation_record(host(), current_cert_path_); }

    // ---- one attempt ----

    void begin(Purpose purpose) {
        purpose_ = purpose;
        phase_ = Phase::requesting;
        attempts_.add();
        old_cert_id_ = purpose == Purpose::provision ? std::string() : current_cert_id_;
        new_cert_id_.clear();
        if (purpose == Purpose::rotate)
            host().notice("rotation started: renewing certificate ", short_id(old_cert_id_),
                          " through template '", template_, "'");
        else if (purpose == Purpose::recover)
            host().notice("recovery started: replacing certificate ", short_id(old_cert_id_),
                          " through the claim certificate and template '", template_, "'");
        else
            host().notice("provisioning started: requesting a certificate for '", host().thing(),
                          "' through template '", template_, "'");
        if (create_keys_) {
            open_claim_session("");
            return;
        }
        renew(sdk::RenewalOp::create_key, subject_,
              [this](const std::string& csr) { open_claim_session(csr); });
    }

    // A renewal step on the production credentials; `next` runs on success.
    void renew(sdk::RenewalOp op, const std::string& input, std::function<void(const std::string&)> next) {
        std::weak_ptr<bool> alive = alive_;
        try {
            host().renew_credentials(credentials_, op, input,
                                     [this, alive, op, next = std::move(next)](const sdk::RenewalResult& r) {
                                         if (alive.expired() || !*alive.lock() || stopped_) return;
                                         if (!r.ok()) {
                                             fail(std::string("the production credentials could not ") +
                                                      sdk::renewal_op_name(op) + ": " + r.error,
                                                  op == sdk::RenewalOp::promote);
                                             return;
                                         }
                                         next(r.output);
                                     });
        } catch (const std::exception& e) {
            fail(e.what(), false);
        }
    }

    // With claim_scope = "device": "" when the claim certificate names this thing, or cannot be
    // read yet (a device before its factory step: the claim credentials say why, and the check
    // runs again before every attempt); else why it may not provision this thing.
    std::string claim_binding() {
        if (claim_scope_ != ClaimScope::device) return "";
        sdk::Credentials claim;
        try {
            claim = host().credentials(claim_credentials_);
        } catch (const std::exception& e) {
            host().info("the claim credentials '", claim_credentials_, "' cannot be used yet (", e.what(),
                        "); their certificate's subject is checked before each attempt");
            return "";
        }
        return claim_binding_of(claim);
    }

    std::string claim_binding_of(const sdk::Credentials& claim) {
        if (claim_scope_ != ClaimScope::device) return "";
        const auto cn = certificate_common_name(claim.cert_chain_path);
        if (!cn) {
            host().warning("cannot read the subject of the claim certificate ", claim.cert_chain_path,
                           " of '", claim_credentials_, "' to check that it names '", host().thing(), "'");
            return "";
        }
        return claim_binding_problem(*cn, host().thing(), claim_credentials_, claim.cert_chain_path);
    }

    // At create, the host reads the claim credentials only in a dry run (`iotgw check`, the
    // factory step, the check before a reload): a claim certificate that names another device is
    // then a config error of this instance. When they cannot be read (a real run, a device before
    // its factory step, a provider that answers only once started) start() checks instead.
    void refuse_claim_for_another_device() {
        sdk::Credentials claim;
        try {
            claim = host().credentials(claim_credentials_);
        } catch (const std::exception&) {
            return;
        }
        const auto cn = certificate_common_name(claim.cert_chain_path);
        if (!cn) return;  // start() warns that it cannot be read
        if (std::string problem =
                claim_binding_problem(*cn, host().thing(), claim_credentials_, claim.cert_chain_path);
            !problem.empty())
            throw sdk::ConfigError(problem);
    }

    // The claim exchange (claim_exchange.hpp) gives a certificate registered for this thing; it
    // becomes the pending pair (imported with create_keys, else stored next to the pending key).
    void open_claim_session(const std::string& csr) {
        sdk::Credentials claim;
        try {
            claim = host().credentials(claim_credentials_);
        } catch (const std::exception& e) {
            fail(std::string("the claim credentials cannot be used: ") + e.what(), false);
            return;
        }
        // Installed after start (or replaced) with another device's: the hook would refuse it.
        if (const std::string problem = claim_binding_of(claim); !problem.empty()) {
            fail(problem, false, true);
            return;
        }
        ClaimExchangeSettings s;
        s.endpoint = endpoint_;
        s.port = port_;
        s.alpn = alpn_;
        s.client_id = client_id_;
        s.template_name = template_;
        s.parameters = parameters_;
        s.create_keys = create_keys_;
        s.timeout = request_timeout_;
        retire_session();
        session_ = std::make_unique<ClaimExchange>(host(), std::move(s), claim);
        session_->run(csr, [this](const std::string& error, bool refused, const CreatedCertificate& issued) {
            if (!error.empty()) return fail(error, false, refused);
            new_cert_id_ = issued.id;
            fault_point("fleet.registered");
            if (create_keys_) {
                import_pair(issued.pem + "\n" + issued.private_key);
                return;
            }
            renew(sdk::RenewalOp::store_cert, issued.pem,
                  [this](const std::string&) { promote_and_prove(); });
        });
    }

    // The key pair AWS made (create_keys) becomes the pending pair.
    void import_pair(const std::string& chain_and_key) {
        std::weak_ptr<bool> alive = alive_;
        try {
            host().import_credentials(
                credentials_, chain_and_key, [this, alive](const sdk::RenewalResult& r) {
                    if (alive.expired() || !*alive.lock() || stopped_) return;
                    if (!r.ok())
                        return fail(
                            "the production credentials could not import the key pair (method = "
                            "\"create_keys\" needs `file` credentials): " +
                                r.error,
                            false);
                    promote_and_prove();
                });
        } catch (const std::exception& e) {
            fail(e.what(), false);
        }
    }

    // ---- proving and reporting ----

    // With an old certificate, its record goes to disk first, so that a restart after the
    // promotion still reports the switch.
    void promote_and_prove() {
        if (!old_cert_id_.empty() && !current_cert_path_.empty()) {
            try {
                save_rotation_record(rotation_record_path(current_cert_path_), {old_cert_id_, new_cert_id_});
            } catch (const std::exception& e) {
                fail(std::string("cannot record the rotation before switching: ") + e.what(), false);
                return;
            }
            fault_point("fleet.recorded");
        }
        renew(sdk::RenewalOp::promote, "", [this](const std::string&) {
            fault_point("fleet.promoted");
            await_proof();
        });
    }

    void await_proof() {
        phase_ = Phase::proving;
        host().info("certificate ", short_id(new_cert_id_), " promoted; waiting up to ",
                    seconds_text(prove_timeout_), " for '", connection_, "' to connect with it");
        phase_timer_.arm_in(prove_timeout_);
        if (link_connected_ && link_cert_id_ == new_cert_id_) proven();
    }

    void on_link(std::string_view payload) {
        const bool was_connected = link_connected_;
        rapidjson::Document d;
        if (!iotgw::sdk::parse_json(d, payload) || !d.IsObject()) return;
        auto c = d.FindMember("connected");
        link_connected_ = c != d.MemberEnd() && c->value.IsBool() && c->value.GetBool();
        auto id = d.FindMember("certificate_id");
        link_cert_id_ =
            link_connected_ && id != d.MemberEnd() && id->value.IsString() ? id->value.GetString() : "";
        if (phase_ == Phase::proving && link_connected_ && link_cert_id_ == new_cert_id_) proven();
        if (link_connected_ && !was_connected) {
            report_attempt_ = 0;  // a reconnect: the backend may be back
            schedule_pending_reports(report_backoff_.delay(0));
        }
        // Only refusals of the identity count, not `failures` (which counts outages and
        // throttling as well). A connection that has no `refusals` never triggers a recovery.
        auto r = d.FindMember("refusals");
        link_refusals_ =
            !link_connected_ && r != d.MemberEnd() && r->value.IsInt64() ? r->value.GetInt64() : 0;
        auto k = d.FindMember("last_failure");
        link_last_failure_ =
            !link_connected_ && k != d.MemberEnd() && k->value.IsString() ? k->value.GetString() : "";
        if (link_connected_) {
            abandon_recovery();
            return;
        }
        if (recover_after_ > 0 && link_refusals_ >= recover_after_ && !recovery_waiting_ &&
            recovery_allowed())
            schedule_recovery();
    }

    bool recovery_allowed() const {
        return phase_ == Phase::idle && clock_->accepted() && SteadyClock::now() >= recover_not_before_ &&
               !stopped_;
    }

    // A random delay within recover_spread first: a fleet whose certificates were refused at
    // once (a deactivated CA, a registry mistake) spreads its calls to the provisioning API.
    void schedule_recovery() {
        const auto spread_ms = static_cast<int64_t>(recover_spread_.count());
        const milliseconds delay{std::uniform_int_distribution<int64_t>(0, spread_ms)(rng_)};
        host().notice("'", connection_, "': the broker refused the certificate ", link_refusals_,
                      " times in a row: recovery through the claim certificate in ", seconds_text(delay),
                      ", unless '", connection_, "' connects meanwhile (last refusal: ", link_last_failure_,
                      "; recover_spread ", seconds_text(recover_spread_), ")");
        recovery_waiting_ = true;
        recover_timer_.arm_in(delay);
    }

    void on_recover_timer() {
        recovery_waiting_ = false;
        if (stopped_ || link_connected_) return;
        // Still refused when the delay is over (an outage in between breaks the run: the next
        // refusals schedule it again), and nothing else started meanwhile.
        if (link_refusals_ < recover_after_ || !recovery_allowed()) {
            host().debug("recovery not started: ", link_refusals_, " refusal(s) in a row now, phase ",
                         static_cast<int>(phase_));
            return;
        }
        recover(link_refusals_);
    }

    void abandon_recovery() {
        if (!recovery_waiting_) return;
        recovery_waiting_ = false;
        recover_timer_.cancel();
        host().notice("recovery through the claim certificate is not needed: '", connection_, "' connected",
                      link_cert_id_.empty() ? std::string() : " with certificate " + short_id(link_cert_id_));
    }

    // The broker keeps refusing the production connection: with a certificate that is unusable
    // by our own checks (expired, missing) that is provisioning; with one that looks valid, the
    // broker refuses it (revoked or inactive in the registry), and a new one is fetched.
    void recover(int64_t refusals) {
        sdk::Credentials creds;
        try {
            creds = host().credentials(credentials_);
        } catch (const std::exception&) {
            timer_.cancel();
            evaluate();
            return;
        }
        const auto info = read_certificate_info(creds.cert_chain_path);
        if (!info) return;
        host().warning("'", connection_, "' failed to connect ", refusals,
                       " times in a row with certificate ", short_id(info->id), ", valid until ",
                       iso8601_utc(info->not_after),
                       " by this gateway's own check: the broker refuses it (last: ", link_last_failure_,
                       "; revoked or inactive?); getting a new certificate through the claim certificate");
        current_cert_id_ = info->id;
        current_cert_path_ = creds.cert_chain_path;
        timer_.cancel();
        begin(Purpose::recover);
    }

    void proven() {
        phase_timer_.cancel();
        failures_ = 0;
        refusals_ = 0;
        if (purpose_ == Purpose::provision) {
            host().notice("provisioning succeeded: '", connection_, "' is connected as '", host().thing(),
                          "' with certificate ", short_id(new_cert_id_));
            succeeded_.add();
            evaluate();
            return;
        }
        fault_point("fleet.proven");
        phase_ = Phase::reporting;
        report_tries_ = 0;
        report_token_ = random_token();
        send_report();
    }

    void send_report() {
        ++report_tries_;
        const std::string topic = "amr/" + host().thing() + "/certificate/rotated";
        const std::string payload = rotated_report(old_cert_id_, report_token_);
        try {
            host().emit(sdk::Message{topic, payload, 1, false});
        } catch (const std::exception& e) {
            host().warning("cannot send the rotation report: ", e.what());
        }
        fault_point("fleet.report_sent");
        phase_timer_.arm_in(request_timeout_);
    }

    void on_phase_timeout() {
        if (stopped_) return;
        if (phase_ == Phase::proving) {
            const std::string why = "'" + connection_ + "' did not connect with the new certificate " +
                                    short_id(new_cert_id_) + " within " + seconds_text(prove_timeout_);
            if (purpose_ != Purpose::provision) {
                rollbacks_.add();
                renew(sdk::RenewalOp::rollback, "", [this, why](const std::string&) {
                    forget_record();
                    fail(why + "; the previous certificate " + short_id(old_cert_id_) + " was restored",
                         true);
                });
            } else {
                fail(why + "; it stays in place (there is no previous certificate to return to)", true);
            }
        } else if (phase_ == Phase::reporting) {
            if (report_tries_ < kReportTries) {
                host().warning("no reply to the rotation report within ", seconds_text(request_timeout_),
                               "; sending it again (check the pipelines from this instance to '", connection_,
                               ":amr/", host().thing(), "/certificate/rotated' and back)");
                send_report();
                return;
            }
            // The report joins the pending list (durably, before the record goes), where it is
            // sent again until the backend answers it; a later rotation cannot overwrite it.
            std::string kept = "it is kept and sent again after every reconnect until the backend answers";
            try {
                if (const std::string dropped = pending_.add({old_cert_id_, new_cert_id_}); !dropped.empty())
                    host().error(dropped);
                forget_record();
                report_attempt_ = 0;
                schedule_pending_reports(report_backoff_.delay(0));
            } catch (const std::exception& e) {
                // The record stays: the next start sends the report again.
                kept = std::string("cannot keep it in the pending list (") + e.what() +
                       "); the record stays and the next start sends it again";
            }
            host().warning(
                purpose_ == Purpose::recover ? "recovery succeeded" : "rotation succeeded", ": certificate ",
                short_id(new_cert_id_),
                " is in use, but the backend never answered the rotation report; the old certificate ",
                short_id(old_cert_id_), " stays ACTIVE until it does (", kept, ")");
            succeeded_.add();
            evaluate();
        }
    }

    // ---- reports the backend has not confirmed (pending_reports.hpp) ----

    void open_pending_reports() {
        if (current_cert_path_.empty() || pending_.is_open()) return;
        const std::string problem = pending_.open(pending_reports_path(current_cert_path_));
        if (!problem.empty()) host().warning(problem);
        if (pending_.empty()) return;
        host().notice(pending_.size(), " rotation report(s) the backend has not confirmed (", pending_.path(),
                      "): sending them again once '", connection_, "' is connected");
        schedule_pending_reports(report_backoff_.delay(0));
    }

    void schedule_pending_reports(milliseconds delay) {
        if (stopped_ || pending_.empty()) return;
        report_timer_.arm_in(delay);
    }

    // Sends the oldest pending report, or notes that the one out was not answered in time.
    void on_report_timer() {
        if (stopped_) return;
        if (pending_.in_flight()) {
            pending_.timed_out();
            const milliseconds delay = report_backoff_.delay(++report_attempt_);
            host().warning("no reply to the pending rotation report of certificate ",
                           short_id(pending_.list().front().old_id), " within ", seconds_text(request_timeout_),
                           "; ", pending_.size(), " report(s) pending, trying again in ", seconds_text(delay));
            schedule_pending_reports(delay);
            return;
        }
        // Not while the connection may be switching certificates; a reconnect or the end of the
        // attempt arms this timer again.
        if (!link_connected_ || phase_ == Phase::requesting || phase_ == Phase::proving) {
            if (phase_ != Phase::idle && phase_ != Phase::reporting)
                schedule_pending_reports(report_backoff_.delay(report_attempt_));
            return;
        }
        const std::string token = random_token();
        const auto report = pending_.send_next(token);
        if (!report) return;
        try {
            host().emit(sdk::Message{"amr/" + host().thing() + "/certificate/rotated",
                                     rotated_report(report->old_id, token), 1, false});
        } catch (const std::exception& e) {
            host().warning("cannot send the pending rotation report: ", e.what());
        }
        report_timer_.arm_in(request_timeout_);
    }

    // True when the reply was for a pending report.
    bool on_pending_reply(const std::string& token, bool accepted, const std::string& payload) {
        const auto answer = pending_.on_reply(token, accepted, payload);  // may throw: caught by the host
        if (answer == PendingReports::Answer::not_ours) return false;
        report_timer_.cancel();
        const RotationRecord& r = pending_.answered();
        if (answer == PendingReports::Answer::retry) {
            const milliseconds delay = report_backoff_.delay(++report_attempt_);
            host().warning("the backend could not take the pending rotation report of certificate ",
                           short_id(r.old_id), " (", describe_rotation_rejection(payload), "); trying again in ",
                           seconds_text(delay));
            schedule_pending_reports(delay);
            return true;
        }
        report_attempt_ = 0;
        if (accepted)
            host().notice("pending rotation report confirmed: the old certificate ", short_id(r.old_id),
                          " is now INACTIVE (", pending_.size(), " still pending)");
        else
            host().warning("pending rotation report answered: the backend refused to deactivate certificate ",
                           short_id(r.old_id), " (", describe_rotation_rejection(payload),
                           "); it is not sent again (", pending_.size(), " still pending)");
        schedule_pending_reports(milliseconds(0));
        return true;
    }

    // ---- failures ----

    // `after_switch`: the pending slot is already gone (promoted or rolled back): nothing to discard.
    // `refused`: the backend said no to this device (a locked thing, a claim certificate for
    // another device): retrying soon would not change that, so it waits on the refusal backoff,
    // which grows to hours; other failures keep the ordinary one. Either way the pending key goes.
    void fail(const std::string& why, bool after_switch, bool refused = false) {
        if (stopped_) return;
        retire_session();
        phase_timer_.cancel();
        failed_.add();
        phase_ = Phase::idle;
        milliseconds delay{};
        if (refused) {
            refused_.add();
            const unsigned refusal = refusals_++;
            delay = refused_backoff_.delay(refusal);
            host().warning(purpose_name(purpose_), " refused (", why, "); ",
                           purpose_ == Purpose::provision ? "" : "keeping the current certificate; ",
                           "retrying in ", seconds_text(delay), " (refusal ", refusal + 1,
                           " in a row: the wait is at most ", seconds_text(refused_backoff_.ceiling(refusal)),
                           " now and grows to ", seconds_text(refused_retry_max_),
                           "; a locked thing recovers once an operator unlocks it)");
        } else {
            delay = backoff_.delay(failures_++);
            host().warning(purpose_name(purpose_), " failed (", why, "); ",
                           purpose_ == Purpose::provision ? "" : "keeping the current certificate; ",
                           "retrying in ", seconds_text(delay));
        }
        if (purpose_ == Purpose::recover) recover_not_before_ = SteadyClock::now() + delay;
        if (!after_switch) {
            try {
                host().renew_credentials(credentials_, sdk::RenewalOp::discard, "",
                                         [](const sdk::RenewalResult&) {});
            } catch (const std::exception& e) {
                host().debug("discarding the pending key: ", e.what());
            }
        }
        timer_.cancel();
        timer_.arm_in(delay);  // then evaluate() decides afresh between provisioning and rotation
    }

    void retire_session() {
        if (!session_) return;
        session_->close();
        // Not destroyed here: this may run inside one of its callbacks.
        retired_.push_back(std::move(session_));
        if (retired_.size() > 1) retired_.erase(retired_.begin());
    }

    std::string random_token() {
        static const char* const kHex = "0123456789abcdef";
        std::string t;
        for (int i = 0; i < 16; ++i) t += kHex[std::uniform_int_distribution<int>(0, 15)(rng_)];
        return t;
    }

    const std::string credentials_, claim_credentials_, connection_, endpoint_;
    const int port_;
    std::string alpn_;
    const std::string client_id_, template_;
    const std::vector<std::pair<std::string, std::string>> parameters_;
    const std::string subject_;
    const milliseconds request_timeout_, prove_timeout_;
    const int64_t recover_after_;
    const milliseconds recover_spread_;
    const bool create_keys_;
    const ClaimScope claim_scope_;
    RotationPolicy policy_;
    common::Backoff backoff_, refused_backoff_;
    const milliseconds refused_retry_max_;
    common::Backoff report_backoff_;
    std::mt19937_64 rng_{std::random_device{}()};

    sdk::Counter attempts_, succeeded_, failed_, rollbacks_, refused_;
    sdk::Gauge days_left_;
    sdk::Timer timer_, phase_timer_, report_timer_;
    sdk::Timer recover_timer_;  // a recovery waiting out its random delay (recovery_waiting_)
    bool recovery_waiting_ = false;
    sdk::EventSubscription link_;

    Phase phase_ = Phase::idle;
    Purpose purpose_ = Purpose::provision;
    bool stopped_ = false;
    unsigned failures_ = 0;
    unsigned refusals_ = 0;  // refused attempts in a row (reset by a success)
    std::string current_cert_id_, current_cert_path_, old_cert_id_, new_cert_id_;
    bool resumed_ = false;
    std::optional<ClockGate> clock_;  // set in the constructor, after the checks that come first
    SteadyClock::time_point recover_not_before_{};
    std::string jitter_for_, logged_for_;
    double jitter_unit_ = 0.0;
    int64_t last_expiry_log_ = 0;
    bool link_connected_ = false;
    std::string link_cert_id_;
    int64_t link_refusals_ = 0;      // the link event's refusals in a row (0 when connected)
    std::string link_last_failure_;  // the link event's kind of the last failed attempt
    int report_tries_ = 0;
    std::string report_token_;
    PendingReports pending_;
    unsigned report_attempt_ = 0;  // pending-report sends in a row without an answer
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    std::unique_ptr<ClaimExchange> session_;
    std::vector<std::unique_ptr<ClaimExchange>> retired_;
};

}  // namespace
}  // namespace iotgw::plugins::fleet_provisioning

IOTGW_DECLARE_PLUGIN(iotgw::plugins::fleet_provisioning::FleetProvisioning,
                     {.abi_major = 1,
                      .abi_minor = 1,
                      .name = "fleet_provisioning",
                      .version = "1.1.0",
                      .description = "First-boot provisioning through a claim certificate and automatic "
                                     "certificate rotation ahead of expiry (AWS IoT fleet provisioning).",
                      .fields = iotgw::plugins::fleet_provisioning::kFields})
