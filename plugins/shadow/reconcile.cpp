// What to do once the replica is current: act on desired state (as a call through the call
// pipeline, under the same rules as any call) and report what differs from the AMR's state,
// clearing the desired keys that were handled.
#include "shadow_processor.hpp"

#include "desired_request.hpp"

#include <iotgw/amr/call_rules.hpp>
#include <iotgw/sdk/json_document.hpp>

#include <algorithm>

namespace iotgw::plugins::shadow {
namespace {

std::optional<std::string> string_at(const Value& object, const char* name) {
    const auto it = object.FindMember(name);
    if (it == object.MemberEnd() || !it->value.IsString()) return std::nullopt;
    return std::string(it->value.GetString(), it->value.GetStringLength());
}

void add_string_or_null(Value& object, const char* name, const std::optional<std::string>& s, Allocator& a) {
    object.AddMember(rapidjson::StringRef(name), s ? string_value(*s, a) : Value(), a);
}

int64_t wall_ms() { return amr::CallRules::system_clock_ms(); }

}  // namespace

void ShadowProcessor::reconcile() {
    // One request at a time: whatever it changes is applied before the next is built.
    if (sync_ != Sync::synced || get_ || update_) return;
    if (desired_enabled_) handle_desired();
    send_report();
}

bool ShadowProcessor::is_handled(const std::string& key, const Value& value) const {
    const auto it = handled_.find(key);
    return it != handled_.end() && it->second.value_json == to_json(value) &&
           it->second.timestamp == replica_.desired_timestamp(key);
}

void ShadowProcessor::handle_desired() {
    const Value& desired = replica_.desired();
    // A key no longer desired is forgotten: setting it again later is a new request.
    for (auto it = handled_.begin(); it != handled_.end();)
        it = find_member(desired, it->first) != nullptr ? std::next(it) : handled_.erase(it);
    if (call_ || desired.ObjectEmpty()) return;

    sdk::MessageDocument fresh(rapidjson::kObjectType);
    std::vector<std::string> keys;
    for (const auto& m : desired.GetObject()) {
        std::string key(m.name.GetString(), m.name.GetStringLength());
        if (is_handled(key, m.value)) continue;
        fresh.AddMember(Value(m.name, fresh.GetAllocator()), Value(m.value, fresh.GetAllocator()),
                        fresh.GetAllocator());
        keys.push_back(std::move(key));
    }
    if (keys.empty()) return;
    const int64_t version = replica_.version().value_or(0);
    auto remember = [&] {
        for (const auto& k : keys)
            handled_[k] = Handled{to_json(*find_member(desired, k)), replica_.desired_timestamp(k)};
    };
    auto conclude = [&](std::string result, std::string reason, std::string detail) {
        remember();
        Outcome o;
        o.serial = ++outcome_serial_;
        o.version = version;
        o.result = std::move(result);
        o.reason = std::move(reason);
        o.detail = std::move(detail);
        outcome_ = std::move(o);
    };

    const DesiredVerdict verdict = judge_desired(fresh);
    if (!verdict.call) {
        desired_refused_.add();
        warn("desired state of version " + std::to_string(version) +
             " refused, not applied: " + verdict.problem);
        conclude("refused", "invalid_desired", verdict.problem);
        return;
    }
    if (!truth_) return;  // the AMR's state is not known yet: decided once it is
    if (verdict.call->state == "idle") {
        // Nothing to start: the AMR returns to idle by itself, and the request is met once it has.
        if (truth_->state != "idle") return;
        conclude("accepted", "", "the AMR is idle");
        return;
    }
    // "moving": a call through the call pipeline, so it meets exactly the rules of any call (busy,
    // duplicate, stale). Its ts is when desired was set, so a request left standing while the AMR
    // was offline is refused as stale, as a queued call would be.
    const int64_t set_at_s = replica_.desired_timestamp("state");
    const int64_t ts_ms = set_at_s > 0 ? set_at_s * 1000 : wall_ms();
    const std::string id = tokens_.next();
    const std::string payload = call_payload(id, ts_ms, verdict.call->target);
    const amr::ParsedCommand parsed = amr::parse_call_command(payload);
    if (!parsed.command) {
        desired_refused_.add();
        warn("desired state of version " + std::to_string(version) +
             " cannot become a call: " + parsed.detail);
        conclude("refused", std::string(parsed.reason), parsed.detail);
        return;
    }
    remember();
    call_ = PendingCall{id, version, keys, sdk::Timer::now_ns() + timeout_ns_};
    desired_calls_.add();
    host().info("desired state 'moving' of version ", version, ": calling the AMR as '", id, "' on ",
                call_topic_);
    publish(call_topic_, payload);
    arm_timeout();
}

void ShadowProcessor::settle_call(Outcome outcome) {
    outcome.serial = ++outcome_serial_;
    outcome.id = call_->id;
    outcome.version = call_->version;
    if (outcome.result == "accepted") {
        host().info("desired state of version ", outcome.version, " applied: call '", outcome.id,
                    "' is moving");
    } else {
        desired_refused_.add();
        warn("desired state of version " + std::to_string(outcome.version) + " not applied: call '" +
             outcome.id + "' " + outcome.reason + ": " + outcome.detail);
    }
    outcome_ = std::move(outcome);
    call_.reset();
    arm_timeout();
}

// The reported keys that differ from what the shadow holds: the AMR's state (when it changed)
// and the outcome of the last desired request. `reported_state` is the state put in, or "".
Value ShadowProcessor::reported_changes(Allocator& a, std::string& reported_state) const {
    Value reported(rapidjson::kObjectType);
    if (truth_) {
        const Value& held = replica_.reported();
        const bool same = string_at(held, "state") == truth_->state &&
                          string_at(held, "command_id") == truth_->command_id &&
                          string_at(held, "error") == truth_->error;
        if (!same) {
            reported.AddMember("state", string_value(truth_->state, a), a);
            add_string_or_null(reported, "command_id", truth_->command_id, a);
            add_string_or_null(reported, "error", truth_->error, a);
            reported_state = truth_->state;
        }
    }
    if (outcome_) {
        Value r(rapidjson::kObjectType);
        r.AddMember("version", Value(outcome_->version), a);
        if (!outcome_->id.empty()) r.AddMember("id", string_value(outcome_->id, a), a);
        r.AddMember("result", string_value(outcome_->result, a), a);
        if (!outcome_->reason.empty()) r.AddMember("reason", string_value(outcome_->reason, a), a);
        if (!outcome_->detail.empty()) r.AddMember("detail", string_value(outcome_->detail, a), a);
        reported.AddMember("desired_result", r, a);
    }
    return reported;
}

// Handled desired keys are cleared with null, except those a call is still out for.
Value ShadowProcessor::desired_to_clear(Allocator& a) const {
    Value desired(rapidjson::kObjectType);
    if (!desired_enabled_) return desired;
    for (const auto& m : replica_.desired().GetObject()) {
        const std::string key(m.name.GetString(), m.name.GetStringLength());
        if (!is_handled(key, m.value)) continue;
        if (call_ && std::find(call_->keys.begin(), call_->keys.end(), key) != call_->keys.end()) continue;
        desired.AddMember(string_value(key, a), Value(), a);
    }
    return desired;
}

void ShadowProcessor::send_report() {
    sdk::MessageDocument update(rapidjson::kObjectType);
    auto& a = update.GetAllocator();
    std::string reported_state;
    Value reported = reported_changes(a, reported_state);
    Value desired = desired_to_clear(a);
    if (reported.ObjectEmpty() && desired.ObjectEmpty()) {
        failures_ = 0;  // nothing differs: in sync
        return;
    }
    Value state(rapidjson::kObjectType);
    if (!reported.ObjectEmpty()) state.AddMember("reported", reported, a);
    if (!desired.ObjectEmpty()) state.AddMember("desired", desired, a);
    const std::string state_json = to_json(state);
    if (state_json == refused_report_) return;  // refused as it is: wait for something to change

    // The limits apply to what the shadow would hold afterwards, not only to this update.
    sdk::MessageDocument after;
    after.CopyFrom(replica_.state(), after.GetAllocator());
    merge_into(after, state, after.GetAllocator());
    if (auto problem = limit_problem(after, limits_)) {
        too_large_.add();
        host().error("shadow update not built: ", *problem, "; dropped: ", state_json.substr(0, 300));
        refused_report_ = state_json;
        return;
    }

    PendingUpdate p;
    p.token = tokens_.next();
    p.deadline_ns = sdk::Timer::now_ns() + timeout_ns_;
    p.state_json = state_json;
    p.outcome_serial = outcome_ ? outcome_->serial : 0;
    p.change_ns = truth_changed_ns_;
    p.reported_state = reported_state;
    update.AddMember("state", state, a);
    update.AddMember("clientToken", string_value(p.token, a), a);
    // Optimistic locking: a write by anyone else since the version held is a 409, then a GET,
    // a merge and a retry. Without a document held there is no version to name.
    if (replica_.exists()) update.AddMember("version", Value(*replica_.version()), a);
    update_ = std::move(p);
    updates_.add();
    publish(topics_.update(), to_json(update));
    arm_timeout();
}

}  // namespace iotgw::plugins::shadow
