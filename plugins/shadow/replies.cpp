// The shadow service's replies: which are ours (clientToken), which versions may be applied
// (version_gate.hpp), and when to resync with a GET (a gap, a reconnect, a failed request).
#include "shadow_processor.hpp"

#include "version_gate.hpp"

#include <algorithm>
#include <chrono>

namespace iotgw::plugins::shadow {

namespace {
// AWS IoT limits shadow requests per thing per second (20; localcore emulates it) and answers
// more with 429 "Too Many Requests". Sending again within the same second would only meet it
// again, so the retry waits at least this long, whatever retry_min says. Not a warning: nothing is
// lost (the report is rebuilt from the AMR's state after the GET) and it is counted (rejected_429).
constexpr int kTooManyRequests = 429;
constexpr std::chrono::milliseconds kThrottleWindow{1000};
constexpr const char* kThrottled = "): the shadow service's request rate for this thing is exceeded";
}  // namespace
namespace {

// Our own GET answered with an older version than held, this many times in a row, is taken as
// the shadow having been re-created with its numbering restarted (AWS does so after a delete
// older than 48 h) rather than as a late reply.
constexpr int kBackwardsGetsToRestart = 3;

}  // namespace

void ShadowProcessor::on_reply(Reply reply, std::string_view payload) {
    ParsedReply r = parse_reply(reply, payload);
    if (!r.problem.empty()) {
        malformed_.add();
        warn(std::string(to_string(reply)) + " of " + topics_.prefix() +
             " is malformed, ignored: " + r.problem);
        // A malformed answer to our own request fails that request.
        if (r.token && get_ && *r.token == get_->token) {
            get_.reset();
            retry_later("the GET's reply was malformed");
        } else if (r.token && update_ && *r.token == update_->token) {
            update_.reset();
            retry_later("the update's reply was malformed");
        }
        arm_timeout();
        return;
    }
    const bool ours_get = get_ && r.token && *r.token == get_->token;
    const bool ours_update = update_ && r.token && *r.token == update_->token;
    switch (reply) {
        case Reply::get_accepted:
            if (ours_get) on_get_accepted(r);
            break;
        case Reply::get_rejected:
            if (ours_get) on_get_rejected(r);
            break;
        case Reply::update_accepted:
            on_update_accepted(r, ours_update);
            break;
        case Reply::update_rejected:
            if (ours_update) on_update_rejected(r);
            break;
        case Reply::update_delta:
            on_delta(r);
            break;
        case Reply::update_documents:
            on_documents(r);
            break;
        case Reply::delete_accepted:
            on_deleted(r);
            break;
        case Reply::delete_rejected:
            break;  // another client's delete that did not happen: nothing changed
    }
    arm_timeout();
}

void ShadowProcessor::on_get_accepted(ParsedReply& r) {
    get_.reset();
    const auto held = replica_.version();
    switch (judge_version(held, r.version, true)) {
        case Verdict::apply:
            replica_.replace(*r.state, r.metadata, r.version);
            backwards_gets_ = 0;
            break;
        case Verdict::not_newer:
            if (r.version == *held) {
                backwards_gets_ = 0;
                break;  // nothing happened since: in sync as we are
            }
            if (++backwards_gets_ < kBackwardsGetsToRestart) {
                stale_.add();
                retry_later("the GET returned version " + std::to_string(r.version) +
                            ", older than version " + std::to_string(*held) +
                            " already applied: not applied");
                return;
            }
            host().warning("the GET returned an older version (", r.version, " < ", *held, ") ",
                           kBackwardsGetsToRestart,
                           " times: the shadow was re-created with new numbering; starting over from it");
            backwards_gets_ = 0;
            replica_.replace(*r.state, r.metadata, r.version);
            break;
        case Verdict::gap:
            break;  // not for a whole document
    }
    sync_ = Sync::synced;
    applied(r.version);
    host().info("shadow ", topics_.prefix(), " in sync at version ", r.version);
    apply_held_delta();
    reconcile();
}

void ShadowProcessor::on_get_rejected(const ParsedReply& r) {
    get_.reset();
    if (r.code == 404) {
        // No shadow (yet, or any more): nothing to hold; the next report creates it.
        replica_.clear();
        handled_.clear();
        held_delta_.reset();
        sync_ = Sync::synced;
        version_gauge_.set(0);
        host().info("shadow ", topics_.prefix(), " does not exist (", r.message,
                    "): the next report creates it");
        reconcile();
        return;
    }
    count_rejection(r.code);
    if (r.code == kTooManyRequests) {
        retry_later("GET of " + topics_.prefix() + " refused with 429 (" + r.message + kThrottled, kThrottleWindow);
        return;
    }
    warn("GET of " + topics_.prefix() + " rejected: " + std::to_string(r.code) + " " + r.message);
    retry_later("the GET was rejected with " + std::to_string(r.code));
}

void ShadowProcessor::on_update_accepted(ParsedReply& r, bool ours) {
    if (ours) {
        const PendingUpdate sent = std::move(*update_);
        update_.reset();
        accepted_.add();
        failures_ = 0;
        refused_report_.clear();
        if (outcome_ && outcome_->serial == sent.outcome_serial) outcome_.reset();
        if (!sent.reported_state.empty()) {
            const double ms = static_cast<double>(sdk::Timer::now_ns() - sent.change_ns) / 1e6;
            latency_gauge_.set(ms);
            host().info("reported state '", sent.reported_state, "' accepted at version ", r.version, ", ",
                        ms, " ms after the change");
        }
    }
    if (sync_ != Sync::synced) return;  // a GET is coming or out: its whole document decides
    switch (judge_version(replica_.version(), r.version, false)) {
        case Verdict::apply:
            replica_.apply_update(*r.state, r.metadata, r.version);
            applied(r.version);
            break;
        case Verdict::not_newer:
            not_newer("update/accepted", r.version);
            break;
        case Verdict::gap:
            gaps_.add();
            resync("update/accepted of version " + std::to_string(r.version) + " after version " +
                   (replica_.exists() ? std::to_string(*replica_.version()) : std::string("none")) +
                   ": a version was missed");
            return;
    }
    reconcile();
}

void ShadowProcessor::on_update_rejected(const ParsedReply& r) {
    const PendingUpdate sent = std::move(*update_);
    update_.reset();
    if (r.code == 409) {
        conflicts_.add();
        retry_later("update refused with 409 (" + r.message + "): another writer changed the shadow");
        return;
    }
    count_rejection(r.code);
    if (r.code == kTooManyRequests) {
        // The document was fine: reconcile() after the GET builds it again from the AMR's state.
        retry_later("update of " + topics_.prefix() + " refused with 429 (" + r.message + kThrottled,
                    kThrottleWindow);
        return;
    }
    warn("update of " + topics_.prefix() + " rejected: " + std::to_string(r.code) + " " + r.message +
         "; document: " + sent.state_json.substr(0, 300));
    // The service calls the document itself invalid: sending it again cannot help.
    if (r.code == 400 || r.code == 413 || r.code == 415) refused_report_ = sent.state_json;
    retry_later("the update was rejected with " + std::to_string(r.code));
}

void ShadowProcessor::on_delta(ParsedReply& r) {
    if (sync_ != Sync::synced) {
        // Kept until the GET's document says whether it is still news.
        if (!held_delta_ || r.version > held_delta_->version) held_delta_ = std::move(r);
        return;
    }
    switch (judge_version(replica_.version(), r.version, false)) {
        case Verdict::apply:
            replica_.apply_delta(*r.state, r.metadata, r.version);
            applied(r.version);
            reconcile();
            return;
        case Verdict::not_newer:
            not_newer("update/delta", r.version);
            return;
        case Verdict::gap: {
            gaps_.add();
            const std::string why =
                "update/delta of version " + std::to_string(r.version) + " after version " +
                (replica_.exists() ? std::to_string(*replica_.version()) : std::string("none")) +
                ": a version was missed";
            held_delta_ = std::move(r);
            resync(why);
            return;
        }
    }
}

void ShadowProcessor::apply_held_delta() {
    if (!held_delta_) return;
    ParsedReply d = std::move(*held_delta_);
    held_delta_.reset();
    switch (judge_version(replica_.version(), d.version, false)) {
        case Verdict::apply:
            replica_.apply_delta(*d.state, d.metadata, d.version);
            applied(d.version);
            return;
        case Verdict::not_newer:
            not_newer("update/delta", d.version);
            return;
        case Verdict::gap:
            gaps_.add();
            held_delta_ = std::move(d);
            resync("a delta newer than the GET's document by more than one version");
            return;
    }
}

void ShadowProcessor::on_documents(ParsedReply& r) {
    if (sync_ != Sync::synced) return;
    switch (judge_version(replica_.version(), r.version, true)) {
        case Verdict::apply:
            replica_.replace(*r.state, r.metadata, r.version);
            applied(r.version);
            reconcile();
            return;
        case Verdict::not_newer:
            not_newer("update/documents", r.version);
            return;
        case Verdict::gap:
            return;  // not for a whole document
    }
}

void ShadowProcessor::on_deleted(const ParsedReply& r) {
    if (sync_ != Sync::synced) return;  // the GET that is coming tells
    if (replica_.exists() && r.version < *replica_.version()) {
        not_newer("delete/accepted", r.version);
        return;
    }
    host().notice("shadow ", topics_.prefix(), " was deleted at version ", r.version,
                  ": reporting the AMR's state again re-creates it");
    replica_.clear();
    handled_.clear();
    held_delta_.reset();
    version_gauge_.set(0);
    reconcile();
}

void ShadowProcessor::not_newer(const char* what, int64_t version) {
    const int64_t held = replica_.version().value_or(0);
    if (version == held) return;  // a second carrier of the version just applied: normal
    stale_.add();
    host().info("stale ", what, " of version ", version, " ignored: version ", held, " is already applied");
}

void ShadowProcessor::resync(const std::string& why) {
    if (!connected_) return;
    retry_timer_.cancel();
    host().info(why, ": GET ", topics_.get());
    send_get();
}

void ShadowProcessor::retry_later(const std::string& why, std::chrono::milliseconds at_least) {
    if (!connected_) return;
    ++failures_;
    // The first failure waits about retry_min.
    const auto delay = std::max(backoff_.delay(failures_ - 1), at_least);
    sync_ = Sync::waiting;
    host().info(why, "; GET, merge and retry in ", delay.count(), " ms (attempt ", failures_, ")");
    retry_timer_.arm_in(delay);
}

void ShadowProcessor::send_get() {
    if (!connected_) return;
    sync_ = Sync::resyncing;
    get_ = PendingGet{tokens_.next(), sdk::Timer::now_ns() + timeout_ns_};
    gets_.add();
    publish(topics_.get(), "{\"clientToken\":\"" + get_->token + "\"}");
    arm_timeout();
}

void ShadowProcessor::count_rejection(int code) {
    rejected_.add();
    const auto it = rejected_by_code_.find(code);
    if (it != rejected_by_code_.end())
        it->second.add();
    else
        rejected_other_.add();
}

void ShadowProcessor::applied(int64_t version) { version_gauge_.set(static_cast<double>(version)); }

}  // namespace iotgw::plugins::shadow
