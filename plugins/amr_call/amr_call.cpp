// `amr_call`: the AMR's command handler. A call command is judged by the shared call rules
// (iotgw/amr/call_rules.hpp), every command gets a result message, and an accepted one moves the
// robot through a RobotDriver while the retained status follows idle -> moving -> idle.
// Bad input is data, not a stage failure: it is answered and logged, never thrown.
#include "accepted_store.hpp"
#include "schema.hpp"
#include "simulated_driver.hpp"
#include "status_json.hpp"

#include <iotgw/amr/call_rules.hpp>
#include <iotgw/amr/robot_driver.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace iotgw::plugins::amr_call {
namespace {

int64_t wall_ms() { return amr::CallRules::system_clock_ms(); }

amr::CallRulesOptions rules_options(const sdk::Config& cfg) {
    amr::CallRulesOptions o;
    o.ttl = cfg.duration("command_ttl");
    o.max_clock_skew = cfg.duration("max_clock_skew");
    o.dedupe_ids = static_cast<std::size_t>(cfg.integer("dedupe_ids"));
    o.max_payload = static_cast<std::size_t>(cfg.integer("max_payload"));
    return o;
}

std::string topic_option(const sdk::Config& cfg, const char* key) {
    std::string t = cfg.string(key);
    if (t.empty()) throw sdk::ConfigError(std::string("'") + key + "' must not be empty");
    if (t.find_first_of("+#") != std::string::npos)
        throw sdk::ConfigError(std::string("'") + key + "' is '" + t +
                               "': a topic to publish to cannot contain the wildcards '+' or '#'");
    return t;
}

// A driver failing to even begin a move: the command is refused with this reason.
constexpr std::string_view kDriverError = "driver_error";
// The accepted id could not be written to state_dir: the call is refused rather than moving
// without a record that would stop a redelivery after a restart from moving again.
constexpr std::string_view kStateError = "state_error";

// At most this many refusal warnings per window: a flood of bad commands must not flood the
// journal (every one is still answered and counted).
constexpr int kWarningsPerWindow = 20;
constexpr int64_t kWarningWindowNs = 60'000'000'000;

class AmrCall final : public sdk::Processor {
public:
    AmrCall(sdk::Host host, const sdk::Config& cfg)
        : Processor(host),
          rules_(rules_options(cfg)),
          store_(cfg.string("state_dir")),
          status_topic_(topic_option(cfg, "status_topic")),
          result_topic_(topic_option(cfg, "result_topic")),
          driver_(std::make_unique<SimulatedDriver>(host, cfg.duration("move_time"))),
          commands_(host.counter("commands", "call commands received")),
          accepted_(host.counter("accepted", "calls accepted (a move started)")),
          refused_(host.counter("refused", "calls refused, any reason")),
          duplicates_(host.counter("duplicates", "redelivered calls answered with their first outcome")),
          moves_failed_(host.counter("moves_failed", "moves the driver reported as failed")) {
        for (std::string_view r : amr::reason::all_refusals) add_reason_counter(r);
        add_reason_counter(kDriverError);
        add_reason_counter(kStateError);
        restore_accepted();
    }

    void start() override {
        // Posted, not emitted here: stages after this one in the pipeline (e.g. `status`) may
        // start after it, and a stage that has not started drops what reaches it.
        host().post([this] { publish_status(nullptr); });
    }

    void stop() noexcept override {
        driver_->stop();
        moving_ = false;
    }

    void on_message(const sdk::Delivery& d, uint32_t /*endpoint_id*/, const sdk::Message& m) override {
        commands_.add();
        amr::Decision decision = rules_.decide(m.payload, moving_);
        if (decision.result == amr::Result::accepted && decision.command) {
            begin_move(d, m, decision);
            return;
        }
        if (decision.result == amr::Result::duplicate) {
            duplicates_.add();
            host().info("call '", *decision.id, "' on ", m.topic,
                        " is a duplicate (first outcome: ", amr::to_string(decision.original),
                        "); no second effect");
        } else {
            count_refusal(decision.reason);
            warn_refused(m.topic, decision);
        }
        send_result(d, decision);
    }

private:
    // The ids a previous run accepted, so that its calls redelivered now are duplicates.
    void restore_accepted() {
        if (!store_.enabled()) {
            host().info("state_dir is not set: accepted call ids are remembered in memory only, so a call "
                        "redelivered after a restart within command_ttl would be judged again");
            return;
        }
        std::string problem;
        const auto ids = store_.load(problem);
        if (!problem.empty()) host().warning(problem);
        const std::size_t taken = rules_.restore(ids);
        if (taken > 0)
            host().info(taken, " accepted call id(s) still within command_ttl restored from ", store_.path());
    }

    // Write before act (accepted_store.hpp): "" when the accepted ids are on disk.
    std::string persist_accepted() {
        try {
            store_.save(rules_.accepted_ids());
            return "";
        } catch (const std::exception& e) {
            return e.what();
        }
    }

    void begin_move(const sdk::Delivery& d, const sdk::Message& m, amr::Decision& decision) {
        const amr::CallCommand cmd = decision.command.value();
        if (const std::string failed = persist_accepted(); !failed.empty()) {
            decision.result = amr::Result::refused;
            decision.reason = kStateError;
            decision.detail = "the call id could not be recorded before moving (" + failed +
                              "); refused so that a redelivery after a restart cannot move the AMR twice";
            decision.command.reset();
            rules_.revise(cmd.id, amr::Result::refused, kStateError);
            count_refusal(kStateError);
            warn_refused(m.topic, decision);
            send_result(d, decision);
            return;
        }
        const uint64_t generation = ++generation_;
        moving_ = true;
        command_id_ = cmd.id;
        in_begin_ = true;
        early_outcome_.reset();
        try {
            driver_->start_move(amr::MoveRequest{cmd.id, cmd.target},
                                [this, generation](const amr::MoveOutcome& o) { move_done(generation, o); });
        } catch (const std::exception& e) {
            in_begin_ = false;
            moving_ = false;
            decision.result = amr::Result::refused;
            decision.reason = kDriverError;
            decision.detail =
                "the " + std::string(driver_->name()) + " driver could not start the move: " + e.what();
            rules_.revise(cmd.id, amr::Result::refused, kDriverError);
            // Best effort: if this write fails, the file still lists the id as accepted, and a
            // redelivery after a restart is a duplicate: no move either way.
            if (const std::string failed = persist_accepted(); !failed.empty())
                host().warning("call '", cmd.id, "': ", failed);
            count_refusal(kDriverError);
            warn_refused(m.topic, decision);
            send_result(d, decision);
            return;
        }
        in_begin_ = false;
        accepted_.add();
        host().info("call '", cmd.id, "' accepted",
                    cmd.target ? " (target " + *cmd.target + ")" : std::string(), ": moving");
        send_result(d, decision);
        publish_status(&d);
        // A driver that finished inside start_move: report it after "moving", never before.
        if (early_outcome_) finish(*std::exchange(early_outcome_, std::nullopt));
    }

    void move_done(uint64_t generation, const amr::MoveOutcome& outcome) {
        if (generation != generation_ || !moving_) return;  // a late or repeated callback
        if (in_begin_) {
            early_outcome_ = outcome;
            return;
        }
        finish(outcome);
    }

    void finish(const amr::MoveOutcome& outcome) {
        moving_ = false;
        if (outcome.ok) {
            host().info("call '", command_id_, "' done: idle");
        } else {
            moves_failed_.add();
            host().warning("call '", command_id_, "': the ", driver_->name(),
                           " driver reports the move failed: ", outcome.reason, "; idle");
        }
        last_error_ = outcome.ok ? std::nullopt : std::optional<std::string>(outcome.reason);
        publish_status(nullptr);
    }

    // With a delivery: the reply to a command continues down that command's pipeline. Without:
    // own initiative, continuing after this stage in every pipeline containing it.
    void publish_status(const sdk::Delivery* d) {
        Status s;
        s.state = moving_ ? "moving" : "idle";
        s.seq = ++seq_;
        s.ts_ms = wall_ms();
        if (!command_id_.empty()) s.command_id = command_id_;
        if (!moving_) s.error = last_error_;
        const std::string json = status_json(s);
        const sdk::Message msg{status_topic_, json, 1, true};
        if (d != nullptr)
            forward(*d, msg);
        else
            host().emit(msg);
    }

    void send_result(const sdk::Delivery& d, const amr::Decision& decision) {
        const std::string json = result_json(decision, moving_ ? "moving" : "idle", wall_ms());
        forward(d, sdk::Message{result_topic_, json, 1, false});
    }

    void add_reason_counter(std::string_view r) {
        const std::string name = "refused_" + std::string(r);
        refused_by_reason_.emplace(std::string(r),
                                   host().counter(name.c_str(), "calls refused for this reason"));
    }

    void count_refusal(std::string_view r) {
        refused_.add();
        auto it = refused_by_reason_.find(r);
        if (it != refused_by_reason_.end()) it->second.add();
    }

    void warn_refused(std::string_view topic, const amr::Decision& decision) {
        const int64_t now = sdk::Timer::now_ns();
        if (now - warn_window_start_ns_ >= kWarningWindowNs) {
            if (warnings_suppressed_ > 0)
                host().warning(warnings_suppressed_,
                               " more refused call(s) were not logged in the last minute (see ",
                               host().instance_name(), ".refused_* counters)");
            warn_window_start_ns_ = now;
            warnings_in_window_ = 0;
            warnings_suppressed_ = 0;
        }
        if (warnings_in_window_ >= kWarningsPerWindow) {
            ++warnings_suppressed_;
            return;
        }
        ++warnings_in_window_;
        host().warning("call refused on ", topic, " (id ", decision.id ? "'" + *decision.id + "'" : "none",
                       "): ", decision.reason, ": ", decision.detail);
    }

    amr::CallRules rules_;
    AcceptedStore store_;
    const std::string status_topic_;
    const std::string result_topic_;
    std::unique_ptr<amr::RobotDriver> driver_;
    sdk::Counter commands_, accepted_, refused_, duplicates_, moves_failed_;
    std::map<std::string, sdk::Counter, std::less<>> refused_by_reason_;

    bool moving_ = false;
    std::string command_id_;                 // the current or last accepted call
    std::optional<std::string> last_error_;  // why the last move failed
    uint64_t seq_ = 0;
    uint64_t generation_ = 0;  // which move a driver callback belongs to
    bool in_begin_ = false;
    std::optional<amr::MoveOutcome> early_outcome_;

    int64_t warn_window_start_ns_ = 0;
    int warnings_in_window_ = 0;
    int warnings_suppressed_ = 0;
};

}  // namespace
}  // namespace iotgw::plugins::amr_call

IOTGW_DECLARE_PLUGIN(iotgw::plugins::amr_call::AmrCall,
                     {.abi_major = 1,
                      .abi_minor = 0,
                      .name = "amr_call",
                      .version = "1.0.0",
                      .description = "AMR call commands: validates each call, answers it with a result, "
                                     "moves the (simulated) robot and publishes its retained status.",
                      .fields = iotgw::plugins::amr_call::kFields})
