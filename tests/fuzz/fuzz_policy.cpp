// libFuzzer target: localcore's AWS IoT policy parser and evaluator (localcore/lib/policy*.cpp).
//
// Input (fuzz_input.hpp): line 1 the client id, line 2 the thing name (empty: no thing attached),
// line 3 the resource every action is asked about (a topic, a filter or a client id), and the
// rest a policy document. A refused document is fine; any exception other than PolicyError,
// crashes, sanitizer reports and the broken invariants below are not:
// - a policy that parsed evaluates every action, the same way twice;
// - adding the same policy again, an allow-everything or a deny-everything policy changes the
//   decision only as "any Deny wins, then any Allow" says;
// - substituted policy variables are literal text: a resource `.../${var}/t` allows exactly the
//   topic "<value>/t", whatever `*`, `?` or `\` the value holds;
// - wildcard_match agrees with a plain dynamic-programming matcher.
#include "fuzz_input.hpp"
#include "policy.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using localcore::Action;
using localcore::Decision;
using localcore::Policy;
using localcore::PolicyError;
using localcore::PolicySet;
using localcore::RequestContext;

constexpr std::array<Action, 5> kActions = {Action::connect, Action::publish, Action::subscribe, Action::receive,
                                            Action::retain_publish};

const Policy& allow_all() {
    static const Policy p = Policy::parse(
        R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iot:*","Resource":"*"}})", "allow-all");
    return p;
}

const Policy& deny_all() {
    static const Policy p = Policy::parse(
        R"({"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"iot:*","Resource":"*"}})", "deny-all");
    return p;
}

// One resource per variable, each "<value>/t" under topic/ (publish) and topicfilter/ (subscribe).
const PolicySet& substitution_policy() {
    static const PolicySet set = [] {
        PolicySet s;
        s.add(Policy::parse(R"({"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"iot:Publish",
             "Resource":"arn:aws:iot:REGION:ACCOUNT_ID:topic/${iot:ClientId}/t"},
            {"Effect":"Allow","Action":"iot:Subscribe",
             "Resource":"arn:aws:iot:REGION:ACCOUNT_ID:topicfilter/${iot:Connection.Thing.ThingName}/t"},
            {"Effect":"Allow","Action":"iot:Receive",
             "Resource":"arn:aws:iot:REGION:ACCOUNT_ID:topic/${iot:Certificate.Subject.CommonName}/t"}]})",
                            "substitution"));
        return s;
    }();
    return set;
}

bool explicitly_denied(const Decision& d) { return !d.allowed && !d.reason.starts_with("no statement allows"); }

// The matcher's documented meaning, written the obvious quadratic way: `*` any run, `?` one
// character, `\x` a literal x (a trailing lone `\` is itself).
bool reference_match(std::string_view pattern, std::string_view text) {
    struct Element {
        char kind;  // 'l' literal, '?' one, '*' any
        char c;
    };
    std::vector<Element> elements;
    for (size_t i = 0; i < pattern.size(); ++i) {
        if (pattern[i] == '\\' && i + 1 < pattern.size())
            elements.push_back({'l', pattern[++i]});
        else if (pattern[i] == '*' || pattern[i] == '?')
            elements.push_back({pattern[i], pattern[i]});
        else
            elements.push_back({'l', pattern[i]});
    }
    // match[j]: elements[i..] match text[j..], computed for i from the end.
    std::vector<char> next(text.size() + 1, 0), cur(text.size() + 1, 0);
    next[text.size()] = 1;
    for (size_t i = elements.size(); i-- > 0;) {
        for (size_t j = text.size() + 1; j-- > 0;) {
            const Element e = elements[i];
            if (e.kind == '*')
                cur[j] = next[j] || (j < text.size() && cur[j + 1]);
            else
                cur[j] = j < text.size() && (e.kind == '?' || e.c == text[j]) && next[j + 1];
        }
        std::swap(next, cur);
    }
    return next[0] != 0;
}

void check_substitution(const RequestContext& ctx, std::string_view resource) {
    const PolicySet& set = substitution_policy();
    const auto allowed = [&](Action a) { return set.evaluate(a, resource, ctx).allowed; };
    IOTGW_FUZZ_CHECK(allowed(Action::publish) == (resource == ctx.client_id + "/t"));
    IOTGW_FUZZ_CHECK(allowed(Action::subscribe) == (ctx.thing_name && resource == *ctx.thing_name + "/t"));
    // AWS does not substitute a certificate value that holds a wildcard or `$`: it matches nothing.
    const std::string& cn = ctx.certificate_subject.at("CommonName");
    const bool substitutable = cn.find_first_of("*$+?#") == std::string::npos;
    IOTGW_FUZZ_CHECK(allowed(Action::receive) == (substitutable && resource == cn + "/t"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    iotgw::fuzz::LineReader in(data, size);
    RequestContext ctx;
    ctx.client_id = std::string(in.line());
    const std::string_view thing = in.line();
    if (!thing.empty()) {
        ctx.thing_name = std::string(thing);
        ctx.thing_attached = true;
    }
    ctx.certificate_subject["CommonName"] = ctx.thing_name.value_or(ctx.client_id);
    ctx.certificate_subject["Organization"] = "fuzz";
    const std::string resource(in.line());

    check_substitution(ctx, resource);
    // The DP reference is quadratic: keep it to inputs the real matcher's callers see.
    if (ctx.client_id.size() <= 512 && resource.size() <= 512) {
        IOTGW_FUZZ_CHECK(localcore::detail::wildcard_match(ctx.client_id, resource) ==
                         reference_match(ctx.client_id, resource));
    }

    std::optional<Policy> policy;
    try {
        policy = Policy::parse(in.rest(), "fuzz");
    } catch (const PolicyError& e) {
        IOTGW_FUZZ_CHECK(std::string_view(e.what()).starts_with("policy 'fuzz'"));
        return 0;
    }
    IOTGW_FUZZ_CHECK(!policy->statements().empty());

    PolicySet alone, twice, with_allow, with_deny;
    alone.add(*policy);
    twice.add(*policy);
    twice.add(*policy);
    with_allow.add(allow_all());
    with_allow.add(*policy);
    with_deny.add(*policy);
    with_deny.add(deny_all());
    for (const Action action : kActions) {
        const std::string_view on = action == Action::connect ? std::string_view(ctx.client_id) : resource;
        const Decision d = alone.evaluate(action, on, ctx);
        IOTGW_FUZZ_CHECK(!d.reason.empty());
        const Decision again = alone.evaluate(action, on, ctx);
        IOTGW_FUZZ_CHECK(again.allowed == d.allowed && again.reason == d.reason);
        IOTGW_FUZZ_CHECK(twice.evaluate(action, on, ctx).allowed == d.allowed);
        IOTGW_FUZZ_CHECK(with_allow.evaluate(action, on, ctx).allowed == !explicitly_denied(d));
        IOTGW_FUZZ_CHECK(!with_deny.evaluate(action, on, ctx).allowed);
    }
    return 0;
}
