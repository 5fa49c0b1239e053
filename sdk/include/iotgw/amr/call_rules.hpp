// The rules for an AMR "call" command, shared by the simulated AMR (plugins/amr_call) and any
// real robot's plugin, so every AMR answers a console the same way.
//
// A command is the JSON object {"id":"<1..64 chars of [A-Za-z0-9_.:-]>","ts":<epoch ms>} with an
// optional "target" (string, 1..64 bytes); other keys are ignored so newer consoles can add
// some. parse_call_command() checks the form; CallRules::decide() adds the rules that need
// state and a clock:
//   oversized  payload larger than max_payload bytes (checked before parsing)
//   not_json   not JSON (RapidJSON's message and byte offset) or invalid UTF-8
//   not_object JSON, but not an object
//   bad_id, bad_ts, bad_target   a key missing, of the wrong type or out of range
//   duplicate  an id already answered and still remembered (below): no second effect, the first
//              outcome is reported again (ids are single-use: a retry takes a new id)
//   stale      ts older than ttl: a call queued for hours while the AMR was offline must not
//              start a move now
//   future     ts more than max_clock_skew ahead of this clock
//   busy       a call while moving is refused, not queued; the caller retries once idle
//   dedupe_full  every one of the `dedupe_ids` places holds an accepted id still within its ttl
//
// What is remembered, and why. A redelivered command must never move the AMR twice, and after
// ts + ttl a redelivery is refused as stale anyway, so an ACCEPTED id is kept until ts + ttl and
// never evicted before: a flood of other ids cannot push it out. Refusals had no effect; they are
// remembered in the places accepted ids leave free, least recently seen forgotten first, and
// forgotten at their ts + ttl too (the table holds about rate x ttl ids, not dedupe_ids), only so
// that a redelivery gets the same answer (losing one means it is judged again: still at most one
// move). Stale commands stay stale and are not remembered at all. When every place holds a live
// accepted id, a new command is refused as dedupe_full rather than forgetting one: refusing is
// visible to the caller and harmless (it retries with a new id once a place frees, within ttl),
// while forgetting would let a redelivery move the robot a second time. Reaching it needs
// dedupe_ids accepted moves within one ttl, which a working AMR does not do.
//
// Across a restart, the plugin persists accepted_ids() (id and expiry) before it acts on an
// accepted command and hands them to restore() at start; see plugins/amr_call.
//
// Header-only. Uses RapidJSON (SAX, no DOM): a plugin including this needs rapidjson-dev.
// Pure: no I/O, no threads; the wall clock is injectable for tests.
#pragma once

#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <list>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

// Not "namespace iotgw::amr": GCC rejects attributes on a nested namespace definition.
namespace iotgw {
namespace [[gnu::visibility("hidden")]] amr {

// Reason codes of refused commands; stable, as consoles and counters (refused_<code>) use them.
namespace reason {
inline constexpr std::string_view oversized = "oversized";
inline constexpr std::string_view not_json = "not_json";
inline constexpr std::string_view not_object = "not_object";
inline constexpr std::string_view bad_id = "bad_id";
inline constexpr std::string_view bad_ts = "bad_ts";
inline constexpr std::string_view bad_target = "bad_target";
inline constexpr std::string_view stale = "stale";
inline constexpr std::string_view future = "future";
inline constexpr std::string_view busy = "busy";
inline constexpr std::string_view duplicate = "duplicate";
inline constexpr std::string_view dedupe_full = "dedupe_full";
inline constexpr std::string_view all_refusals[] = {oversized, not_json, not_object, bad_id, bad_ts,
                                                    bad_target, stale, future, busy, dedupe_full};
}  // namespace reason

inline constexpr std::size_t kMaxIdLength = 64;
inline constexpr std::size_t kMaxTargetLength = 64;

struct CallRulesOptions {
    std::chrono::milliseconds ttl{30'000};
    std::chrono::milliseconds max_clock_skew{5'000};
    std::size_t max_payload = 4096;
    std::size_t dedupe_ids = 1000;  // places for remembered ids, at least 1
};

// An accepted command's id and when it stops mattering (its ts + ttl, epoch ms): what a plugin
// persists so that a restart within the ttl still answers a redelivery as a duplicate.
struct AcceptedId {
    std::string id;
    int64_t expires_ms = 0;
};

struct CallCommand {
    std::string id;
    int64_t ts_ms = 0;
    std::optional<std::string> target;
};

// What parse_call_command found: a command, or the reason code and an operator-facing detail.
// `id` is the command's id whenever it was valid, even if another key was not, so the caller
// can still correlate the refusal.
struct ParsedCommand {
    std::optional<CallCommand> command;
    std::string_view reason;  // empty when `command` is set
    std::string detail;
    std::optional<std::string> id;
};

namespace detail {

inline bool id_char_ok(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == ':' || c == '-';
}

// A byte as the operator can read it in a log line.
inline std::string printable(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) return std::string("'") + c + "'";
    static constexpr char kHex[] = "0123456789abcdef";
    return std::string("byte 0x") + kHex[u >> 4] + kHex[u & 0xf];
}

// One top-level value of the command object, as much as the rules need of it.
struct SeenValue {
    bool present = false;
    std::string_view type;  // JSON type name for messages
    std::string text;       // strings
    int64_t integer = 0;    // integers that fit int64
    bool is_integer = false;
};

inline constexpr int kMaxDepth = 32;

// SAX handler: looks only at the root object's "id", "ts" and "target"; everything deeper is
// skipped without building a DOM. Nesting is cut at kMaxDepth, which bounds the recursion of
// RapidJSON's (recursive) parser.
class CommandHandler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, CommandHandler> {
public:
    SeenValue id, ts, target;
    std::string_view root_type;       // set when the root is not an object
    std::string_view duplicated_key;  // set when "id", "ts" or "target" appears twice
    bool too_deep = false;

    bool Null() { return scalar("null"); }
    bool Bool(bool) { return scalar("boolean"); }
    bool Int(int v) { return integer(v); }
    bool Uint(unsigned v) { return integer(static_cast<int64_t>(v)); }
    bool Int64(int64_t v) { return integer(v); }
    bool Uint64(uint64_t v) {
        if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
            return scalar("integer out of range");
        return integer(static_cast<int64_t>(v));
    }
    bool Double(double) { return scalar("number with a fraction or exponent"); }
    bool String(const char* s, rapidjson::SizeType n, bool) {
        if (depth_ == 0) return root("string");
        if (depth_ == 1 && current_ != nullptr) {
            current_->text.assign(s, n);
            mark("string");
        }
        return true;
    }
    bool StartObject() {
        if (depth_ == 1) scalar("object");
        if (++depth_ > kMaxDepth) return nested_too_deep();
        return true;
    }
    bool Key(const char* s, rapidjson::SizeType n, bool) {
        if (depth_ != 1) return true;
        const std::string_view key(s, n);
        current_ = key == "id" ? &id : key == "ts" ? &ts : key == "target" ? &target : nullptr;
        if (current_ != nullptr && current_->present) {
            duplicated_key = key == "id" ? "id" : key == "ts" ? "ts" : "target";
            return false;
        }
        return true;
    }
    bool EndObject(rapidjson::SizeType) {
        --depth_;
        return true;
    }
    bool StartArray() {
        if (depth_ == 0) return root("array");
        if (depth_ == 1) scalar("array");
        if (++depth_ > kMaxDepth) return nested_too_deep();
        return true;
    }
    bool EndArray(rapidjson::SizeType) {
        --depth_;
        return true;
    }

private:
    bool nested_too_deep() {
        too_deep = true;
        return false;
    }
    bool root(std::string_view type) {
        root_type = type;
        return false;  // nothing more to learn: stop parsing
    }
    void mark(std::string_view type) {
        current_->present = true;
        current_->type = type;
        current_ = nullptr;
    }
    bool scalar(std::string_view type) {
        if (depth_ == 0) return root(type);
        if (depth_ == 1 && current_ != nullptr) mark(type);
        return true;
    }
    bool integer(int64_t v) {
        if (depth_ == 0) return root("number");
        if (depth_ == 1 && current_ != nullptr) {
            current_->integer = v;
            current_->is_integer = true;
            mark("integer");
        }
        return true;
    }

    int depth_ = 0;
    SeenValue* current_ = nullptr;
};

inline std::string article(std::string_view type) {
    const bool vowel = !type.empty() && std::string_view("aeiou").find(type[0]) != std::string_view::npos;
    return std::string(vowel ? "an " : "a ") + std::string(type);
}

// Why `id` is not a valid command id, or "".
inline std::string id_problem(std::string_view id) {
    if (id.empty() || id.size() > kMaxIdLength)
        return "key 'id' is " + std::to_string(id.size()) + " characters long; it must have 1 to " +
               std::to_string(kMaxIdLength);
    for (std::size_t i = 0; i < id.size(); ++i)
        if (!id_char_ok(id[i]))
            return "key 'id' has " + printable(id[i]) + " at position " + std::to_string(i) +
                   "; allowed are A-Z a-z 0-9 _ . : -";
    return "";
}

// now - ts without overflow, whatever a sender put into ts.
inline int64_t saturating_sub(int64_t a, int64_t b) noexcept {
    int64_t out = 0;
    if (__builtin_sub_overflow(a, b, &out))
        return b < 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
    return out;
}

inline int64_t saturating_add(int64_t a, int64_t b) noexcept {
    int64_t out = 0;
    if (__builtin_add_overflow(a, b, &out))
        return b < 0 ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
    return out;
}

}  // namespace detail

inline constexpr std::string_view kCommandForm =
    R"(expected {"id":"<1..64 of A-Za-z0-9_.:->","ts":<epoch ms>})";

// Checks the form of a command payload. Never throws for bad input (only std::bad_alloc).
inline ParsedCommand parse_call_command(std::string_view payload, std::size_t max_payload = 4096) {
    ParsedCommand out;
    auto refuse = [&](std::string_view code, std::string detail) {
        out.reason = code;
        out.detail = std::move(detail);
        return out;
    };
    if (payload.size() > max_payload)
        return refuse(reason::oversized, "payload is " + std::to_string(payload.size()) + " bytes; at most " +
                                             std::to_string(max_payload) + " are accepted");

    // The in-situ parser needs a NUL-terminated buffer and would stop at an embedded NUL.
    if (const std::size_t nul = payload.find('\0'); nul != std::string_view::npos)
        return refuse(reason::not_json, "not JSON: a NUL byte (at byte " + std::to_string(nul) + ")");

    detail::CommandHandler h;
    rapidjson::Reader reader;
    // In situ, on a copy: RapidJSON 1.1.0 then never uses its internal stack, whose first push
    // is undefined behaviour (null pointer arithmetic, flagged by clang's UBSan); the handler
    // bounds the recursion instead. Validated UTF-8: the id and target end up in logs and JSON.
    // The padding: 1.1.0's UTF-8 validation takes up to 3 continuation bytes of a truncated
    // sequence without looking for the terminator, so it may read that far past the end.
    std::string buffer(payload);
    buffer.append(4, '\0');
    rapidjson::InsituStringStream in(buffer.data());
    const rapidjson::ParseResult ok =
        reader.Parse<rapidjson::kParseInsituFlag | rapidjson::kParseValidateEncodingFlag>(in, h);

    if (!h.root_type.empty())
        return refuse(reason::not_object, "the command is " + detail::article(h.root_type) +
                                              ", not a JSON object; " + std::string(kCommandForm));
    if (!h.duplicated_key.empty()) {
        const std::string_view code = h.duplicated_key == "id"   ? reason::bad_id
                                      : h.duplicated_key == "ts" ? reason::bad_ts
                                                                 : reason::bad_target;
        return refuse(code, "key '" + std::string(h.duplicated_key) + "' appears more than once");
    }
    if (h.too_deep)
        return refuse(reason::not_json, "JSON nested deeper than " + std::to_string(detail::kMaxDepth) +
                                            " levels is not accepted in a command");
    if (ok.IsError()) {
        if (payload.empty())
            return refuse(reason::not_json, "the payload is empty; " + std::string(kCommandForm));
        return refuse(reason::not_json, std::string("not JSON: ") + rapidjson::GetParseError_En(ok.Code()) +
                                            " (at byte " + std::to_string(ok.Offset()) + ")");
    }

    // The id first: a valid id is echoed even if ts or target are wrong.
    if (!h.id.present)
        return refuse(reason::bad_id, "missing key 'id' (string); " + std::string(kCommandForm));
    if (h.id.type != "string")
        return refuse(reason::bad_id, "key 'id' must be a string, got " + detail::article(h.id.type));
    if (std::string problem = detail::id_problem(h.id.text); !problem.empty())
        return refuse(reason::bad_id, problem);
    out.id = h.id.text;

    if (!h.ts.present)
        return refuse(reason::bad_ts,
                      "missing key 'ts' (integer, epoch milliseconds); " + std::string(kCommandForm));
    if (!h.ts.is_integer)
        return refuse(reason::bad_ts,
                      "key 'ts' must be an integer (epoch milliseconds), got " + detail::article(h.ts.type));

    std::optional<std::string> target;
    if (h.target.present) {
        if (h.target.type != "string")
            return refuse(reason::bad_target,
                          "key 'target' must be a string, got " + detail::article(h.target.type));
        if (h.target.text.empty() || h.target.text.size() > kMaxTargetLength)
            return refuse(reason::bad_target, "key 'target' is " + std::to_string(h.target.text.size()) +
                                                  " bytes long; it must have 1 to " +
                                                  std::to_string(kMaxTargetLength));
        for (char c : h.target.text)
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
                return refuse(reason::bad_target,
                              "key 'target' contains the control character " + detail::printable(c));
        target = std::move(h.target.text);
    }
    out.command = CallCommand{h.id.text, h.ts.integer, std::move(target)};
    return out;
}

enum class Result { accepted, refused, duplicate };

inline const char* to_string(Result r) noexcept {
    switch (r) {
        case Result::accepted:
            return "accepted";
        case Result::refused:
            return "refused";
        case Result::duplicate:
            return "duplicate";
    }
    return "refused";
}

struct Decision {
    Result result = Result::refused;
    std::string_view reason;  // a reason:: code; empty when accepted
    std::string detail;       // for the operator and the caller: what was wrong, what to do
    std::optional<std::string> id;
    std::optional<CallCommand> command;  // set when accepted
    // Only for Result::duplicate: what the first command with this id got.
    Result original = Result::accepted;
    std::string_view original_reason;
};

// The stateful rules: dedupe memory, clock, busy. One instance per AMR.
class CallRules {
public:
    using Clock = std::function<int64_t()>;  // wall clock, epoch milliseconds

    static int64_t system_clock_ms() noexcept {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }

    explicit CallRules(CallRulesOptions options = {}, Clock clock = &CallRules::system_clock_ms)
        : options_(options), clock_(std::move(clock)) {
        if (options_.dedupe_ids == 0) options_.dedupe_ids = 1;
    }

    const CallRulesOptions& options() const noexcept { return options_; }
    // Ids remembered, accepted and refused: at most dedupe_ids.
    std::size_t remembered() const noexcept { return accepted_.size() + refused_.size(); }

    // Judge one command payload. `busy`: the AMR is moving. Never throws for bad input.
    Decision decide(std::string_view payload, bool busy) {
        ParsedCommand parsed = parse_call_command(payload, options_.max_payload);
        Decision d;
        d.id = parsed.id;
        if (!parsed.command) {
            // Malformed input is not remembered: it had no effect, and the same bytes get the
            // same answer again anyway.
            d.reason = parsed.reason;
            d.detail = std::move(parsed.detail);
            return d;
        }
        const CallCommand& cmd = *parsed.command;
        const int64_t now = clock_();
        forget_expired(now);
        if (const Outcome* first = lookup(cmd.id, now)) {
            d.result = Result::duplicate;
            d.reason = reason::duplicate;
            d.original = first->result;
            d.original_reason = first->reason;
            d.detail = "command id '" + cmd.id + "' was already handled (" + to_string(first->result) +
                       (first->reason.empty() ? "" : ": " + std::string(first->reason)) +
                       "); a redelivered command has no second effect, a new call needs a new id";
            return d;
        }

        const int64_t age = detail::saturating_sub(now, cmd.ts_ms);
        const int64_t expires = detail::saturating_add(cmd.ts_ms, options_.ttl.count());
        if (age > options_.ttl.count()) {
            d.reason = reason::stale;
            d.detail = "command is " + std::to_string(age) + " ms old (ts " + std::to_string(cmd.ts_ms) +
                       "); commands older than " + std::to_string(options_.ttl.count()) +
                       " ms are refused so a call queued while offline cannot start a move";
            return d;  // stale stays stale: nothing to remember
        }
        if (age < -options_.max_clock_skew.count()) {
            d.reason = reason::future;
            d.detail = "command ts " + std::to_string(cmd.ts_ms) + " is " +
                       std::to_string(detail::saturating_sub(cmd.ts_ms, now)) +
                       " ms ahead of this AMR's clock (at most " +
                       std::to_string(options_.max_clock_skew.count()) +
                       " ms allowed); check the clocks of the caller and the gateway";
        } else if (busy) {
            d.reason = reason::busy;
            d.detail = "the AMR is moving; call again with a new id once its status is idle";
        } else if (accepted_.size() >= options_.dedupe_ids) {
            d.reason = reason::dedupe_full;
            d.detail = "the last " + std::to_string(accepted_.size()) +
                       " accepted command ids are all within command_ttl and must be remembered so that a "
                       "redelivery cannot move the AMR twice; one expires in " +
                       std::to_string(detail::saturating_sub(by_expiry_.begin()->first, now)) +
                       " ms: call again then with a new id (dedupe_ids sets how many are remembered)";
        } else {
            d.result = Result::accepted;
        }
        if (d.result == Result::accepted) {
            accepted_.emplace(cmd.id, expires);
            by_expiry_.emplace(expires, cmd.id);
            make_room();
            d.command = std::move(parsed.command);
        } else {
            remember_refusal(cmd.id, Outcome{d.result, d.reason}, expires);
        }
        return d;
    }

    // Correct the remembered outcome of an accepted command whose move could not begin after
    // all (the driver refused, its id could not be persisted), so a redelivery reports what
    // really happened. It had no effect, so it leaves the accepted ids. `reason` must outlive the
    // rules (a string literal or a constant).
    void revise(const std::string& id, Result result, std::string_view reason) {
        const auto it = accepted_.find(id);
        if (it == accepted_.end()) return;
        const int64_t expires = it->second;
        by_expiry_.erase({expires, id});
        accepted_.erase(it);
        remember_refusal(id, Outcome{result, reason}, expires);
    }

    // The accepted ids still within their ttl, soonest expiry first: what to persist.
    std::vector<AcceptedId> accepted_ids() const {
        std::vector<AcceptedId> out;
        out.reserve(by_expiry_.size());
        for (const auto& [expires, id] : by_expiry_) out.push_back(AcceptedId{id, expires});
        return out;
    }

    // At start: the ids a previous run persisted. Those past their expiry are dropped, as are any
    // beyond dedupe_ids (the soonest to expire first). Returns how many were taken.
    std::size_t restore(const std::vector<AcceptedId>& ids) {
        const int64_t now = clock_();
        std::size_t taken = 0;
        for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
            if (it->expires_ms < now || accepted_.size() >= options_.dedupe_ids) continue;
            if (!accepted_.emplace(it->id, it->expires_ms).second) continue;
            by_expiry_.emplace(it->expires_ms, it->id);
            ++taken;
        }
        make_room();
        return taken;
    }

private:
    struct Outcome {
        Result result;
        std::string_view reason;
    };
    struct Refusal {
        Outcome outcome;
        int64_t expires_ms;
    };
    using RefusalOrder = std::list<std::pair<std::string, Refusal>>;

    // A redelivery after ts + ttl is stale: its id no longer needs a place, accepted or refused.
    // Without forgetting refusals here the table only ever shrank when full, so it grew to
    // dedupe_ids entries (an hour at a few busy refusals a minute) before it was flat (issue 16).
    // Refusals are kept least recently seen last, which for callers with a sane clock is also
    // soonest expiry last: dropping expired ones from that end keeps the table at about
    // rate x ttl. One with a far-off ts (refused as future) holds the rest back until make_room
    // evicts it, which is the bound that held before.
    void forget_expired(int64_t now) {
        while (!by_expiry_.empty() && by_expiry_.begin()->first < now) {
            accepted_.erase(by_expiry_.begin()->second);
            by_expiry_.erase(by_expiry_.begin());
        }
        while (!refused_order_.empty() && refused_order_.back().second.expires_ms < now) {
            refused_.erase(refused_order_.back().first);
            refused_order_.pop_back();
        }
    }

    const Outcome* lookup(const std::string& id, int64_t now) {
        if (accepted_.count(id) != 0) return &kAccepted;
        auto it = refused_.find(id);
        if (it == refused_.end()) return nullptr;
        if (it->second->second.expires_ms < now) {
            refused_order_.erase(it->second);
            refused_.erase(it);
            return nullptr;
        }
        refused_order_.splice(refused_order_.begin(), refused_order_, it->second);  // most recent first
        return &it->second->second.outcome;
    }

    void remember_refusal(const std::string& id, Outcome o, int64_t expires_ms) {
        refused_order_.emplace_front(id, Refusal{o, expires_ms});
        refused_[id] = refused_order_.begin();
        make_room();
    }

    // Only refusals give way; accepted ids are bounded by the dedupe_full check instead.
    void make_room() {
        while (remembered() > options_.dedupe_ids && !refused_order_.empty()) {
            refused_.erase(refused_order_.back().first);
            refused_order_.pop_back();
        }
    }

    static constexpr Outcome kAccepted{Result::accepted, {}};

    CallRulesOptions options_;
    Clock clock_;
    std::unordered_map<std::string, int64_t> accepted_;    // id -> expiry (epoch ms)
    std::set<std::pair<int64_t, std::string>> by_expiry_;  // the same, soonest expiry first
    RefusalOrder refused_order_;
    std::unordered_map<std::string, RefusalOrder::iterator> refused_;
};

}  // namespace amr
}  // namespace iotgw
