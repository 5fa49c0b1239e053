// `shadow`: messages in (statuses and results passing through, shadow replies ending here), the
// connection's link events, request timeouts, and the plugin declaration.
#include "shadow_processor.hpp"

#include "schema.hpp"

#include <iotgw/amr/call_rules.hpp>
#include <iotgw/sdk/json_document.hpp>
#include <iotgw/sdk/json_parse.hpp>

#include <chrono>

namespace iotgw::plugins::shadow {
namespace {

std::string topic_option(const sdk::Config& cfg, const char* key) {
    std::string t = cfg.string(key);
    if (t.empty()) throw sdk::ConfigError(std::string("'") + key + "' must not be empty");
    if (t.find_first_of("+#") != std::string::npos)
        throw sdk::ConfigError(std::string("'") + key + "' is '" + t +
                               "': a topic cannot contain '+' or '#'");
    return t;
}

std::string shadow_name_option(const sdk::Config& cfg) {
    std::string name = cfg.string("shadow_name");
    if (!name.empty() && !valid_shadow_name(name))
        throw sdk::ConfigError(
            "'shadow_name' is '" + name +
            "': a shadow name has 1 to 64 of A-Z a-z 0-9 $ : _ - (\"\" is the classic shadow)");
    return name;
}

Limits limits_option(const sdk::Config& cfg) {
    Limits l;
    l.max_state_bytes = static_cast<std::size_t>(cfg.integer("max_state_bytes"));
    return l;
}

Backoff backoff_option(const sdk::Config& cfg) {
    const auto min = cfg.duration("retry_min");
    const auto max = cfg.duration("retry_max");
    if (min > max)
        throw sdk::ConfigError("'retry_min' (" + std::to_string(min.count()) +
                               " ms) is larger than 'retry_max' (" + std::to_string(max.count()) + " ms)");
    // Equal jitter: a fleet resyncing after one broker restart does not hammer the shadow
    // service in step, while a retry never comes sooner than half a step. No floor: retry_min
    // may be as short as 10 ms.
    return Backoff(
        {.min = min, .max = max, .jitter = Backoff::Jitter::equal, .floor = std::chrono::milliseconds(0)});
}

constexpr int kKnownCodes[] = {400, 401, 403, 404, 413, 415, 429, 500, 503};

}  // namespace

ShadowProcessor::ShadowProcessor(sdk::Host host, const sdk::Config& cfg)
    : Processor(host),
      connection_(cfg.string("connection")),
      topics_(host.thing(), shadow_name_option(cfg)),
      status_topic_(topic_option(cfg, "status_topic")),
      result_topic_(topic_option(cfg, "result_topic")),
      call_topic_(topic_option(cfg, "call_topic")),
      desired_enabled_(cfg.boolean("desired")),
      timeout_ns_(std::chrono::nanoseconds(cfg.duration("request_timeout")).count()),
      limits_(limits_option(cfg)),
      backoff_(backoff_option(cfg)),
      tokens_(host.instance_name()),
      gets_(host.counter("gets", "shadow GETs sent (start, reconnect, gap, failure)")),
      updates_(host.counter("updates", "shadow updates sent")),
      accepted_(host.counter("accepted", "own updates accepted")),
      conflicts_(host.counter("conflicts", "own updates refused with 409 (version conflict)")),
      rejected_(host.counter("rejected", "own GETs and updates rejected for another reason than 409 or 404")),
      timeouts_(host.counter("timeouts", "requests or desired calls without a reply in request_timeout")),
      stale_(host.counter("stale", "documents, deltas or replies ignored because their version was older")),
      gaps_(host.counter("gaps", "version gaps detected (a GET resyncs)")),
      malformed_(host.counter("malformed", "replies or statuses that were not the documented shape")),
      desired_calls_(host.counter("desired_calls", "calls made for desired state")),
      desired_refused_(host.counter("desired_refused", "desired requests refused (invalid or by the AMR)")),
      too_large_(host.counter("too_large", "documents not built because they would exceed the limits")),
      rejected_other_(host.counter("rejected_other", "rejections with a code not listed separately")),
      version_gauge_(host.gauge("version", "version of the shadow document held")),
      latency_gauge_(host.gauge("report_latency_ms", "last state change -> update/accepted, in ms")),
      retry_timer_(host.timer([this] {
          if (sync_ == Sync::waiting) send_get();
      })),
      timeout_timer_(host.timer([this] { on_timeout(); })) {
    for (int code : kKnownCodes) {
        const std::string name = "rejected_" + std::to_string(code);
        rejected_by_code_.emplace(code, host.counter(name.c_str(), "rejections with this code"));
    }
}

void ShadowProcessor::start() {
    // Retained: the current link state is replayed at once (a GET follows if connected).
    link_ = host().subscribe_events("$iotgw/instance/" + connection_ + "/link",
                                    [this](std::string_view, std::string_view payload) { on_link(payload); });
}

void ShadowProcessor::stop() noexcept {
    link_.reset();
    retry_timer_.cancel();
    timeout_timer_.cancel();
    connected_ = false;
    sync_ = Sync::offline;
}

void ShadowProcessor::on_message(const sdk::Delivery& d, uint32_t, const sdk::Message& m) {
    // A reply of this shadow ends here, whichever way it came (normally as this instance being
    // the replies pipeline's target, where there is nothing further to forward to).
    if (const auto reply = topics_.classify(m.topic)) {
        on_reply(*reply, m.payload);
        return;
    }
    if (topics_.is_shadow_topic_of_thing(m.topic)) {
        if (m.topic.starts_with(topics_.prefix() + "/")) return;  // e.g. a request echoed by a '#' filter
        warn("message on " + std::string(m.topic) + " ignored: this instance keeps " + topics_.prefix() +
             "/...; the replies pipeline's filter and 'shadow_name' must name the same shadow");
        return;
    }
    // Everything else passes unchanged; statuses and results are looked at on the way, after
    // being passed on, so a status reaches the broker before the shadow update it causes.
    if (m.topic == status_topic_ || m.topic == result_topic_) {
        const std::string payload(m.payload);
        const bool is_status = m.topic == status_topic_;
        forward(d, m);
        if (is_status)
            on_status(payload);
        else
            on_result(payload);
        return;
    }
    forward(d, m);
}

void ShadowProcessor::on_link(std::string_view payload) {
    sdk::MessageDocument doc;
    iotgw::sdk::parse_json(doc, payload);  // on failure doc is Null: refused below
    const auto it = doc.IsObject() ? doc.FindMember("connected") : rapidjson::Value::MemberIterator();
    if (!doc.IsObject() || it == doc.MemberEnd() || !it->value.IsBool()) {
        warn("link event of '" + connection_ +
             "' has no boolean \"connected\", ignored: " + std::string(payload));
        return;
    }
    if (it->value.GetBool()) {
        connected_ = true;
        failures_ = 0;
        resync("'" + connection_ + "' connected");
        return;
    }
    if (!connected_ && sync_ == Sync::offline) return;
    connected_ = false;
    sync_ = Sync::offline;
    get_.reset();
    update_.reset();  // its reply may still come: as a stranger's, judged by its version
    retry_timer_.cancel();
    arm_timeout();
    host().info("'", connection_, "' disconnected: shadow sync paused until it is back");
}

void ShadowProcessor::on_status(std::string_view payload) {
    std::string problem;
    auto state = parse_status(payload, problem);
    if (!state) {
        malformed_.add();
        warn("status on " + status_topic_ + " not reported: " + problem);
        return;
    }
    if (!truth_ || !(*truth_ == *state)) truth_changed_ns_ = sdk::Timer::now_ns();
    truth_ = std::move(state);
    // The call made for desired state has started the move: the request is fulfilled.
    if (call_ && truth_->command_id == call_->id && truth_->state == "moving") {
        Outcome o;
        o.result = "accepted";
        settle_call(std::move(o));
    }
    reconcile();
}

void ShadowProcessor::on_result(std::string_view payload) {
    if (!call_) return;
    auto result = parse_result(payload);
    if (!result || result->id != call_->id || result->result == "accepted") return;  // moving follows
    Outcome o;
    o.result = "refused";
    o.reason = result->reason;
    o.detail = result->detail;
    settle_call(std::move(o));
    reconcile();
}

void ShadowProcessor::publish(const std::string& topic, const std::string& payload) {
    // Own initiative: continues after this stage (to the connection) in the call pipeline.
    host().emit(sdk::Message{topic, payload, 1, false});
}

void ShadowProcessor::arm_timeout() {
    int64_t next = INT64_MAX;
    if (get_) next = std::min(next, get_->deadline_ns);
    if (update_) next = std::min(next, update_->deadline_ns);
    if (call_) next = std::min(next, call_->deadline_ns);
    if (next == INT64_MAX)
        timeout_timer_.cancel();
    else
        timeout_timer_.arm_at(next);
}

void ShadowProcessor::on_timeout() {
    const int64_t now = sdk::Timer::now_ns();
    const std::string limit = std::to_string(timeout_ns_ / 1'000'000) + " ms";
    if (call_ && call_->deadline_ns <= now) {
        timeouts_.add();
        Outcome o;
        o.result = "refused";
        o.reason = "no_result";
        o.detail = "the call '" + call_->id + "' made for desired state got no result within " + limit +
                   "; set desired again to retry";
        warn(o.detail);
        settle_call(std::move(o));
        reconcile();
    }
    if (get_ && get_->deadline_ns <= now) {
        timeouts_.add();
        get_.reset();
        retry_later("no reply to the GET within " + limit);
    }
    if (update_ && update_->deadline_ns <= now) {
        timeouts_.add();
        update_.reset();
        retry_later("no reply to the update within " + limit);
    }
    arm_timeout();
}

void ShadowProcessor::warn(const std::string& text) {
    int suppressed = 0;
    const bool allowed = budget_.allow(sdk::Timer::now_ns(), suppressed);
    if (suppressed > 0)
        host().warning(suppressed, " more warning(s) were not logged in the last minute (see the ",
                       host().instance_name(), ".* counters)");
    if (allowed) host().warning(text);
}

}  // namespace iotgw::plugins::shadow

IOTGW_DECLARE_PLUGIN(iotgw::plugins::shadow::ShadowProcessor,
                     {.abi_major = 1,
                      .abi_minor = 0,
                      .name = "shadow",
                      .version = "1.0.0",
                      .description = "Keeps the AMR's Device Shadow (named 'robot') the authoritative state: "
                                     "reports every change, applies only newer versions, resyncs with a GET, "
                                     "and turns desired state into calls.",
                      .fields = iotgw::plugins::shadow::kFields})
