// The `shadow` processor: keeps the AMR's named shadow (`robot`) the authoritative copy of its
// state (the seed: "version 前進のみ採用", a GET to resync on any gap).
//
// Wiring (README.md): a `via` stage of the call pipeline, after amr_call and status, where it
// sees every status and result and passes them on unchanged; and the target of the replies
// pipeline (from = "cloud:$aws/things/${thing}/shadow/name/robot/+/+", to = ["shadow"]). Its own
// requests (GET, update, and a call made for desired state) continue after it in the call
// pipeline, to the connection.
//
// The member functions are spread over files by concern: shadow.cpp (messages in, link events,
// timers), replies.cpp (the shadow service's replies, versions, resync), reconcile.cpp (desired
// state and what to report).
#pragma once

#include "amr_messages.hpp"
#include "client_tokens.hpp"
#include "document.hpp"
#include "log_budget.hpp"
#include "replica.hpp"
#include "reply_parse.hpp"
#include "topics.hpp"

#include <iotgw/plugins/common/backoff.hpp>
#include <iotgw/sdk.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace iotgw::plugins::shadow {

using common::Backoff;

class ShadowProcessor final : public sdk::Processor {
public:
    ShadowProcessor(sdk::Host host, const sdk::Config& cfg);

    void start() override;
    void stop() noexcept override;
    void on_message(const sdk::Delivery& d, uint32_t endpoint_id, const sdk::Message& m) override;

private:
    enum class Sync {
        offline,    // the connection is down: nothing is sent, replies are not trusted
        waiting,    // a failed request: a GET follows after the backoff delay
        resyncing,  // a GET is out: partial replies wait for the whole document
        synced,     // the replica is current: changes are applied step by step
    };

    struct PendingGet {
        std::string token;
        int64_t deadline_ns = 0;
    };
    struct PendingUpdate {
        std::string token;
        int64_t deadline_ns = 0;
        std::string state_json;       // the "state" sent, remembered if the service calls it invalid
        uint64_t outcome_serial = 0;  // the desired outcome it reports, 0 if none
        int64_t change_ns = 0;        // when the reported state changed (for the latency figure)
        std::string reported_state;   // "" when the AMR's state was not part of it
    };
    // A call made for desired state, waiting for its result (refused) or its status (moving).
    struct PendingCall {
        std::string id;
        int64_t version = 0;
        std::vector<std::string> keys;
        int64_t deadline_ns = 0;
    };
    // How the last desired request ended, reported as reported.desired_result.
    struct Outcome {
        uint64_t serial = 0;
        int64_t version = 0;
        std::string id;      // the call's id; "" when no call was made
        std::string result;  // "accepted" or "refused"
        std::string reason;
        std::string detail;
    };
    // A desired key the gateway has acted on: the same value set at the same time is not acted
    // on twice (e.g. when the update clearing it met a 409), only cleared.
    struct Handled {
        std::string value_json;
        int64_t timestamp = 0;
    };

    // shadow.cpp
    void on_link(std::string_view payload);
    void on_status(std::string_view payload);
    void on_result(std::string_view payload);
    void publish(const std::string& topic, const std::string& payload);
    void arm_timeout();
    void on_timeout();
    void warn(const std::string& text);

    // replies.cpp
    void on_reply(Reply reply, std::string_view payload);
    void on_get_accepted(ParsedReply& r);
    void on_get_rejected(const ParsedReply& r);
    void on_update_accepted(ParsedReply& r, bool ours);
    void on_update_rejected(const ParsedReply& r);
    void on_delta(ParsedReply& r);
    void on_documents(ParsedReply& r);
    void on_deleted(const ParsedReply& r);
    void apply_held_delta();
    void not_newer(const char* what, int64_t version);
    void resync(const std::string& why);
    // Resync after the backoff delay, or `at_least` if that is longer.
    void retry_later(const std::string& why, std::chrono::milliseconds at_least = {});
    void send_get();
    void count_rejection(int code);
    void applied(int64_t version);

    // reconcile.cpp
    void reconcile();
    void handle_desired();
    void settle_call(Outcome outcome);
    void send_report();
    Value reported_changes(Allocator& a, std::string& reported_state) const;
    Value desired_to_clear(Allocator& a) const;
    bool is_handled(const std::string& key, const Value& value) const;

    const std::string connection_;
    const Topics topics_;
    const std::string status_topic_;
    const std::string result_topic_;
    const std::string call_topic_;
    const bool desired_enabled_;
    const int64_t timeout_ns_;
    const Limits limits_;
    Backoff backoff_;
    ClientTokens tokens_;

    sdk::Counter gets_, updates_, accepted_, conflicts_, rejected_, timeouts_, stale_, gaps_, malformed_,
        desired_calls_, desired_refused_, too_large_, rejected_other_;
    std::map<int, sdk::Counter> rejected_by_code_;
    sdk::Gauge version_gauge_, latency_gauge_;

    sdk::EventSubscription link_;
    sdk::Timer retry_timer_;
    sdk::Timer timeout_timer_;

    bool connected_ = false;
    Sync sync_ = Sync::offline;
    unsigned failures_ = 0;
    Replica replica_;
    std::optional<PendingGet> get_;
    std::optional<PendingUpdate> update_;
    std::optional<PendingCall> call_;
    std::optional<Outcome> outcome_;
    uint64_t outcome_serial_ = 0;
    std::map<std::string, Handled> handled_;
    std::optional<AmrState> truth_;
    int64_t truth_changed_ns_ = 0;
    std::string refused_report_;             // a document the service refused as invalid: never sent again
    std::optional<ParsedReply> held_delta_;  // the newest delta seen while not in sync
    int backwards_gets_ = 0;
    LogBudget budget_;
};

}  // namespace iotgw::plugins::shadow
