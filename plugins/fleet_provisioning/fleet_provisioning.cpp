// `fleet_provisioning`: gives the gateway its production certificate and keeps it fresh, through
// AWS IoT fleet provisioning with a claim certificate (aws-iot-core.md sections 2 and 5).
//
// - First boot (the production credentials are missing or unusable): the production provider
//   makes a key and a CSR; over a claim connection (own client id `claim-<thing>`, so the
//   production connection is never taken over) CreateCertificateFromCsr and RegisterThing give
//   the certificate, which is stored as pending and promoted; the production connection then
//   connects with it (it reconnects on the provider's "changed" event).
// - Rotation ahead of expiry (a share of the lifetime, or a minimum time before expiry, plus
//   jitter): the same exchange while the production connection keeps serving. The new
//   certificate is proven by the production connection itself: it is promoted, the connection
//   switches (one clean reconnect; its offline queue holds what is published meanwhile) and must
//   report a connection with the NEW certificate id within `prove_timeout`, else the previous
//   pair is restored (rollback). A separate proving connection would need the thing name as
//   client id (the device policy allows no other) and would take over the live session anyway.
//   Once proven, the gateway reports on amr/<thing>/certificate/rotated (through a pipeline to
//   the production connection) and the backend makes the old certificate INACTIVE.
// - Recovery: when the production connection keeps failing with a certificate this gateway
//   checked itself (valid dates, matching key), the broker probably refuses it (revoked,
//   inactive); the same exchange gets a new one. An expired or missing certificate provisions.
// - Expiry is judged only on a trustworthy clock (clock_check.hpp): never on one earlier than the
//   build, and only after a bounded wait for NTP synchronisation.
// - Restarts: a rotation record (rotation_record.hpp) and the provider's pending slot let a
//   gateway killed at any step finish or undo the attempt at the next start.
// - Failures keep the current certificate and retry with exponential backoff and full jitter.
#include "../common/cert_fields.hpp"
#include "../common/fault_point.hpp"
#include "backoff.hpp"
#include "certificate_info.hpp"
#include "claim_session.hpp"
#include "clock_check.hpp"
#include "provisioning_messages.hpp"
#include "rotation_record.hpp"
#include "rotation_schedule.hpp"
#include "schema.hpp"

#include <rapidjson/document.h>

#include <chrono>
#include <ctime>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace iotgw::plugins::fleet {
namespace {

using mqtt_conn::read_certificate_info;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int64_t kDay = 24 * 3600;
// Long sleeps are re-evaluated at least this often (suspend, clock steps).
constexpr seconds kReevaluate{6 * 3600};
constexpr int kReportTries = 3;
// While the clock is earlier than the earliest plausible time: how often to look again, and to
// say so in the log.
constexpr seconds kClockRecheck{10};
constexpr seconds kClockWarnEvery{600};

int64_t now_unix() { return static_cast<int64_t>(std::time(nullptr)); }

using certs::iso8601_utc;

std::string seconds_text(milliseconds d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(d.count()) / 1000.0);
    return buf;
}

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
          clock_wait_(cfg.duration("clock_wait")),
          clock_sync_file_(cfg.string("clock_sync_file")),
          recover_after_(cfg.integer("recover_after")),
          create_keys_(cfg.string("method") == "create_keys"),
          backoff_(cfg.duration("retry_min"), cfg.duration("retry_max")),
          attempts_(host.counter("attempts", "provisioning and rotation attempts started")),
          succeeded_(
              host.counter("succeeded", "provisionings and rotations that ended with a proven certificate")),
          failed_(host.counter("failed", "attempts that failed (the current certificate was kept)")),
          rollbacks_(host.counter("rollbacks", "new certificates that did not connect and were rolled back")),
          days_left_(host.gauge("days_to_expiry", "days until the production certificate expires")),
          timer_(host.timer([this] { on_timer(); })),
          phase_timer_(host.timer([this] { on_phase_timeout(); })) {
        policy_.share = cfg.number("rotate_at");
        policy_.before_s = std::chrono::duration_cast<seconds>(cfg.duration("rotate_before")).count();
        policy_.jitter_s = std::chrono::duration_cast<seconds>(cfg.duration("jitter")).count();
        if (policy_.share <= 0.0)
            throw sdk::ConfigError("'rotate_at' must be above 0 (a share of the lifetime)");
        if (cfg.duration("retry_max") < cfg.duration("retry_min"))
            throw sdk::ConfigError("'retry_max' must not be shorter than 'retry_min'");
        if (credentials_ == claim_credentials_)
            throw sdk::ConfigError("'credentials' and 'claim_credentials' name the same instance '" +
                                   credentials_ + "': the claim certificate must be a separate one");
        if (client_id_ == host.thing())
            throw sdk::ConfigError(
                "'client_id' is the thing name: the claim connection would take over the "
                "production connection; use e.g. \"claim-${thing}\"");
        if (alpn_.empty() && port_ == 443) alpn_ = "x-amzn-mqtt-ca";
        const std::string earliest = cfg.string("earliest_time");
        if (earliest.empty()) {
            earliest_ = build_time_unix();
            earliest_from_ = "the date this gateway was built";
        } else {
            try {
                earliest_ = parse_utc_date(earliest);
            } catch (const std::exception& e) {
                throw sdk::ConfigError(std::string("'earliest_time': ") + e.what());
            }
            earliest_from_ = "earliest_time";
        }
        if (template_.empty() || template_.size() > 36 ||
            template_.find_first_not_of("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-") !=
                std::string::npos)
            throw sdk::ConfigError("'template' must match [0-9A-Za-z_-]{1,36} ('" + template_ + "')");
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
        link_ =
            host().subscribe_events("$iotgw/instance/" + connection_ + "/link",
                                    [this](std::string_view, std::string_view payload) { on_link(payload); });
        evaluate();
    }

    void stop() noexcept override {
        stopped_ = true;
        timer_.cancel();
        phase_timer_.cancel();
        link_.reset();
        if (session_) session_->close();
    }

    // Replies to the rotation report: amr/<thing>/certificate/rotated/accepted|rejected.
    void on_message(const sdk::Delivery&, uint32_t, const sdk::Message& m) override {
        const std::string topic(m.topic);
        const std::string payload(m.payload);
        const bool accepted = topic.ends_with("/accepted");
        if (!accepted && !topic.ends_with("/rejected")) return;
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
        if (!clock_trusted()) return;
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
        if (due <= now) {
            begin(Purpose::rotate);
            return;
        }
        timer_.arm_in(std::min<std::chrono::nanoseconds>(seconds(due - now), kReevaluate));
    }

    void on_timer() {
        if (phase_ == Phase::idle) evaluate();
    }

    // ---- the clock ----

    // Whether expiry may be judged now; if not, the timer is armed to look again.
    bool clock_trusted() {
        const ClockReading r = read_clock(earliest_, clock_sync_file_);
        const auto now = SteadyClock::now();
        switch (judge_clock(r)) {
            case ClockTrust::synchronised:
                if (clock_wait_since_)
                    host().notice("the clock is synchronised now (", describe_clock(r, clock_sync_file_),
                                  "): judging certificate expiry");
                clock_wait_since_.reset();
                clock_accepted_ = true;
                return true;
            case ClockTrust::before_earliest:
                clock_accepted_ = false;
                if (!clock_warned_at_ || now - *clock_warned_at_ >= kClockWarnEvery) {
                    clock_warned_at_ = now;
                    host().warning("the system clock says ", iso8601_utc(r.now), ", before ", iso8601_utc(r.earliest),
                                   " (", earliest_from_,
                                   "): it is wrong, so certificate expiry is not judged and nothing is "
                                   "provisioned or rotated until it is set (check NTP); looking again every ",
                                   kClockRecheck.count(), " s");
                }
                timer_.arm_in(kClockRecheck);
                return false;
            case ClockTrust::unconfirmed:
                break;
        }
        if (clock_accepted_) return true;
        if (!clock_wait_since_) {
            clock_wait_since_ = now;
            host().notice("waiting up to ",
                          seconds_text(std::chrono::duration_cast<milliseconds>(clock_wait_)),
                          " for a synchronised clock before judging certificate expiry (",
                          describe_clock(r, clock_sync_file_), ")");
        }
        const auto waited = now - *clock_wait_since_;
        if (waited >= clock_wait_) {
            host().warning("the clock is still not confirmed synchronised after ",
                           seconds_text(std::chrono::duration_cast<milliseconds>(clock_wait_)), " (",
                           describe_clock(r, clock_sync_file_),
                           "); judging certificate expiry on it anyway: it says ", iso8601_utc(r.now));
            clock_accepted_ = true;
            clock_wait_since_.reset();
            return true;
        }
        timer_.arm_in(std::min<std::chrono::nanoseconds>(seconds(2), clock_wait_ - waited));
        return false;
    }

    // ---- after a restart ----

    // Finishes or undoes what a restart interrupted; true when that started an attempt.
    bool resume_after_restart() {
        sdk::Credentials creds;
        std::optional<mqtt_conn::CertificateInfo> current;
        try {
            creds = host().credentials(credentials_);
            current = read_certificate_info(creds.cert_chain_path);
        } catch (const std::exception&) {}
        // A rotation record: the promotion may have happened but not the report.
        if (current) {
            current_cert_path_ = creds.cert_chain_path;
            std::string problem;
            const auto record = load_rotation_record(rotation_record_path(current_cert_path_), problem);
            if (!problem.empty()) {
                host().warning(problem, "; removing it");
                forget_record();
            }
            if (record && record->new_id == current->id) {
                host().notice("resuming a rotation a restart interrupted: certificate ",
                              short_id(record->new_id), " replaced ", short_id(record->old_id),
                              "; proving it and reporting the switch");
                purpose_ = Purpose::rotate;
                old_cert_id_ = record->old_id;
                new_cert_id_ = record->new_id;
                attempts_.add();
                await_proof();
                return true;
            }
            if (record) {
                host().info("removing the record of a rotation that never switched (certificate ",
                            short_id(current->id), " is still in use)");
                forget_record();
            }
        }
        // A complete pending pair: a certificate was issued and stored but not promoted. It is
        // registered and usable, so finish with it rather than leave it orphaned in the registry.
        sdk::Credentials pending;
        bool have_pending = false;
        try {
            pending = host().pending_credentials(credentials_);
            have_pending = true;
        } catch (const std::exception&) {}
        const auto pending_info =
            have_pending ? read_certificate_info(pending.cert_chain_path) : std::nullopt;
        if (pending_info) {
            purpose_ = current ? Purpose::rotate : Purpose::provision;
            old_cert_id_ = current ? current->id : std::string();
            new_cert_id_ = pending_info->id;
            host().notice("finishing the ", purpose_name(purpose_), " a restart interrupted: certificate ",
                          short_id(new_cert_id_), " was issued and stored; promoting it");
            attempts_.add();
            phase_ = Phase::requesting;
            promote_and_prove();
            return true;
        }
        // A pending key without its certificate: that attempt cannot be finished.
        try {
            host().renew_credentials(credentials_, sdk::RenewalOp::discard, "",
                                     [](const sdk::RenewalResult&) {});
        } catch (const std::exception& e) {
            host().debug("discarding a pending key left by an earlier run: ", e.what());
        }
        return false;
    }

    void forget_record() {
        if (current_cert_path_.empty()) return;
        try {
            remove_rotation_record(rotation_record_path(current_cert_path_));
        } catch (const std::exception& e) {
            host().warning("cannot remove the rotation record: ", e.what());
        }
    }

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

    void open_claim_session(const std::string& csr) {
        sdk::Credentials claim;
        try {
            claim = host().credentials(claim_credentials_);
        } catch (const std::exception& e) {
            fail(std::string("the claim credentials cannot be used: ") + e.what(), false);
            return;
        }
        ClaimSettings s;
        s.server_uri = "ssl://" + endpoint_ + ":" + std::to_string(port_);
        s.client_id = client_id_;
        s.tls.trust_store = claim.ca_path.empty() ? "/etc/ssl/certs/ca-certificates.crt" : claim.ca_path;
        s.tls.cert_chain = claim.cert_chain_path;
        s.tls.private_key = claim.private_key_path;
        s.tls.alpn = alpn_;
        s.timeout = request_timeout_;
        claim_cert_ = claim.cert_chain_path;
        retire_session();
        session_ = std::make_unique<ClaimSession>(host(), s);
        session_->connect([this, csr](const std::string& error) {
            if (!error.empty()) {
                fail("cannot connect with the claim certificate " + claim_cert_ + " as '" + client_id_ +
                         "': " + error +
                         " (under TLS 1.3 a revoked, inactive or unknown claim certificate looks like this; "
                         "check its status in the registry)",
                     false);
                return;
            }
            session_->subscribe({csr_topic() + "/accepted", csr_topic() + "/rejected",
                                 provision_topic() + "/accepted", provision_topic() + "/rejected"},
                                [this, csr](const std::string& err) {
                                    if (!err.empty()) {
                                        fail(err, false);
                                        return;
                                    }
                                    request_certificate(csr);
                                });
        });
    }

    // CreateKeysAndCertificate with `create_keys`, else CreateCertificateFromCsr.
    std::string csr_topic() const {
        return create_keys_ ? "$aws/certificates/create/json" : "$aws/certificates/create-from-csr/json";
    }
    std::string provision_topic() const {
        return "$aws/provisioning-templates/" + template_ + "/provision/json";
    }

    void request_certificate(const std::string& csr) {
        const std::string api = create_keys_ ? "CreateKeysAndCertificate" : "CreateCertificateFromCsr";
        session_->request(csr_topic(), create_keys_ ? std::string("{}") : create_from_csr_request(csr),
                          [this, api](const std::string& err, const ClaimSession::Reply& reply) {
                              if (!err.empty()) return fail(api + ": " + err, false);
                              if (!reply.accepted)
                                  return fail(api + " was rejected: " + describe_rejection(reply.payload),
                                              false);
                              CreatedCertificate created;
                              try {
                                  created = create_keys_ ? parse_created_keys(reply.payload)
                                                         : parse_created_certificate(reply.payload);
                              } catch (const std::exception& e) {
                                  return fail(e.what(), false);
                              }
                              fault_point("fleet.certificate_created");
                              register_thing(created);
                          });
    }

    void register_thing(const CreatedCertificate& created) {
        session_->request(provision_topic(), register_thing_request(created.ownership_token, parameters_),
                          [this, created](const std::string& err, const ClaimSession::Reply& reply) {
                              if (!err.empty()) return fail("RegisterThing: " + err, false);
                              if (!reply.accepted)
                                  return fail("RegisterThing with template '" + template_ +
                                                  "' was rejected: " + describe_rejection(reply.payload),
                                              false);
                              std::string thing;
                              try {
                                  thing = parse_registered_thing(reply.payload);
                              } catch (const std::exception& e) {
                                  return fail(e.what(), false);
                              }
                              if (thing != host().thing())
                                  return fail("the template registered the certificate for thing '" + thing +
                                                  "', but this gateway is '" + host().thing() +
                                                  "' (check `parameters`)",
                                              false);
                              session_->close();
                              new_cert_id_ = created.id;
                              fault_point("fleet.registered");
                              if (create_keys_) {
                                  import_pair(created.pem + "\n" + created.private_key);
                                  return;
                              }
                              renew(sdk::RenewalOp::store_cert, created.pem,
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
        rapidjson::Document d;
        d.Parse(payload.data(), payload.size());
        if (d.HasParseError() || !d.IsObject()) return;
        auto c = d.FindMember("connected");
        link_connected_ = c != d.MemberEnd() && c->value.IsBool() && c->value.GetBool();
        auto id = d.FindMember("certificate_id");
        link_cert_id_ =
            link_connected_ && id != d.MemberEnd() && id->value.IsString() ? id->value.GetString() : "";
        if (phase_ == Phase::proving && link_connected_ && link_cert_id_ == new_cert_id_) proven();
        auto f = d.FindMember("failures");
        const int64_t failures =
            !link_connected_ && f != d.MemberEnd() && f->value.IsInt64() ? f->value.GetInt64() : 0;
        if (recover_after_ > 0 && failures >= recover_after_ && phase_ == Phase::idle && clock_accepted_ &&
            SteadyClock::now() >= recover_not_before_ && !stopped_)
            recover(failures);
    }

    // The production connection keeps failing: with a certificate that is unusable by our own
    // checks (expired, missing) that is provisioning; with one that looks valid, the broker
    // probably refuses it (revoked or inactive in the registry), and a new one is fetched. A
    // network outage looks the same from here, but then the claim connection fails as well and
    // the attempt ends in backoff.
    void recover(int64_t failures) {
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
        host().warning(
            "'", connection_, "' failed to connect ", failures, " times in a row with certificate ",
            short_id(info->id), ", valid until ", iso8601_utc(info->not_after),
            " by this gateway's own check: the broker may refuse it (revoked or inactive); getting a "
            "new certificate through the claim certificate");
        current_cert_id_ = info->id;
        current_cert_path_ = creds.cert_chain_path;
        timer_.cancel();
        begin(Purpose::recover);
    }

    void proven() {
        phase_timer_.cancel();
        failures_ = 0;
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
            // The record stays: the next start sends the report again.
            host().warning(
                purpose_ == Purpose::recover ? "recovery succeeded" : "rotation succeeded", ": certificate ",
                short_id(new_cert_id_),
                " is in use, but the backend never answered the rotation report; the old certificate ",
                short_id(old_cert_id_), " may stay ACTIVE (the report is sent again at the next start)");
            succeeded_.add();
            evaluate();
        }
    }

    // ---- failures ----

    // `after_switch`: the pending slot is already gone (promoted or rolled back): nothing to discard.
    void fail(const std::string& why, bool after_switch) {
        if (stopped_) return;
        retire_session();
        phase_timer_.cancel();
        failed_.add();
        phase_ = Phase::idle;
        const milliseconds delay = backoff_.delay(failures_++);
        if (purpose_ == Purpose::recover) recover_not_before_ = SteadyClock::now() + delay;
        host().warning(purpose_name(purpose_), " failed (", why, "); ",
                       purpose_ == Purpose::provision ? "" : "keeping the current certificate; ",
                       "retrying in ", seconds_text(delay));
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
    const milliseconds clock_wait_;
    const std::string clock_sync_file_;
    const int64_t recover_after_;
    const bool create_keys_;
    int64_t earliest_ = 0;
    std::string earliest_from_;
    RotationPolicy policy_;
    mqtt_conn::Backoff backoff_;
    std::mt19937_64 rng_{std::random_device{}()};

    sdk::Counter attempts_, succeeded_, failed_, rollbacks_;
    sdk::Gauge days_left_;
    sdk::Timer timer_, phase_timer_;
    sdk::EventSubscription link_;

    Phase phase_ = Phase::idle;
    Purpose purpose_ = Purpose::provision;
    bool stopped_ = false;
    unsigned failures_ = 0;
    std::string current_cert_id_, current_cert_path_, old_cert_id_, new_cert_id_, claim_cert_;
    bool resumed_ = false;
    bool clock_accepted_ = false;
    std::optional<SteadyClock::time_point> clock_wait_since_, clock_warned_at_;
    SteadyClock::time_point recover_not_before_{};
    std::string jitter_for_, logged_for_;
    double jitter_unit_ = 0.0;
    int64_t last_expiry_log_ = 0;
    bool link_connected_ = false;
    std::string link_cert_id_;
    int report_tries_ = 0;
    std::string report_token_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    std::unique_ptr<ClaimSession> session_;
    std::vector<std::unique_ptr<ClaimSession>> retired_;
};

}  // namespace
}  // namespace iotgw::plugins::fleet

IOTGW_DECLARE_PLUGIN(iotgw::plugins::fleet::FleetProvisioning,
                     {.abi_major = 1,
                      .abi_minor = 1,
                      .name = "fleet_provisioning",
                      .version = "1.0.0",
                      .description = "First-boot provisioning through a claim certificate and automatic "
                                     "certificate rotation ahead of expiry (AWS IoT fleet provisioning).",
                      .fields = iotgw::plugins::fleet::kFields})
