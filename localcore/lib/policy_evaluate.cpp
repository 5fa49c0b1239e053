// Decision over the policies attached to one certificate: any matching Deny wins, then any
// matching Allow, else the AWS default deny.
#include "policy.hpp"

namespace localcore {
namespace {

std::string_view resource_type(Action a) {
    switch (a) {
        case Action::connect:
            return "client";
        case Action::subscribe:
            return "topicfilter";
        case Action::publish:
        case Action::receive:
        case Action::retain_publish:
            return "topic";
    }
    return "topic";
}

bool resource_matches(const detail::Statement& st, const std::string& arn, const RequestContext& ctx) {
    for (const detail::Template& resource : st.resources) {
        const std::optional<std::string> pattern = detail::expand(resource, ctx, true);
        if (pattern && detail::wildcard_match(*pattern, arn)) return true;
    }
    return false;
}

bool condition_holds(const detail::Condition& cond, const RequestContext& ctx) {
    const std::optional<std::string> actual = detail::context_value(cond.key, ctx);
    if (!actual) return false;  // IAM: a key absent from the request fails a non-IfExists operator
    for (const detail::Template& value : cond.values) {
        const bool like = cond.op == detail::ConditionOperator::string_like;
        const std::optional<std::string> expected = detail::expand(value, ctx, like);
        if (!expected) continue;
        if (like ? detail::wildcard_match(*expected, *actual) : *expected == *actual) return true;
    }
    return false;
}

bool conditions_hold(const detail::Statement& st, const RequestContext& ctx) {
    for (const detail::Condition& cond : st.conditions) {
        if (!condition_holds(cond, ctx)) return false;
    }
    return true;
}

}  // namespace

Decision PolicySet::evaluate(Action action, std::string_view resource, const RequestContext& ctx) const {
    const std::string arn = "arn:aws:iot:" + ctx.region + ":" + ctx.account_id + ":" +
                            std::string(resource_type(action)) + "/" + std::string(resource);
    const std::string request = std::string(action_name(action)) + " on " + arn;
    const auto action_bit = static_cast<std::uint8_t>(1U << static_cast<unsigned>(action));

    const detail::Statement* allowing = nullptr;
    for (const Policy& policy : policies_) {
        for (const detail::Statement& st : policy.statements()) {
            if ((st.actions & action_bit) == 0 || !resource_matches(st, arn, ctx) ||
                !conditions_hold(st, ctx)) {
                continue;
            }
            if (!st.allow) return Decision{false, st.where + " denies " + request};
            if (allowing == nullptr) allowing = &st;
        }
    }
    if (allowing != nullptr) return Decision{true, allowing->where + " allows " + request};
    return Decision{false, "no statement allows " + request};
}

}  // namespace localcore
