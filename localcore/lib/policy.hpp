// AWS IoT policy evaluator: parses the policy JSON documents of cloud/policies/ (the very files the
// AWS deployment attaches) and decides Connect / Publish / Subscribe / Receive / RetainPublish the
// way AWS IoT Core does, so a policy is exercised on one machine before it reaches an account.
//
// Semantics (docs/aws-iot-core.md section 2):
// - Default deny; any matching Deny statement wins over every Allow.
// - Resources are ARNs (`arn:aws:iot:REGION:ACCOUNT:client/...`, `topic/...`, `topicfilter/...`,
//   `thing/...`) or `*`. `*` matches any run of characters including '/', `?` exactly one. MQTT
//   wildcards mean nothing to the evaluator: a SUBSCRIBE filter `a/#` is a plain string matched
//   against `topicfilter/...` patterns.
// - The placeholders REGION and ACCOUNT_ID, when they are the whole region / account field of an
//   ARN, are replaced by RequestContext::region / account_id (cloud/policies/README.md: the AWS
//   deployment substitutes the same words before uploading).
// - Policy variables `${iot:ClientId}`, `${iot:Connection.Thing.ThingName}`,
//   `${iot:Connection.Thing.IsAttached}`, `${iot:Certificate.Subject.<Field>}`. Substituted values
//   are always literal text, never wildcards. A variable without a value (no thing attached, no such
//   subject field) makes that resource / condition value match nothing. A certificate variable whose
//   value contains one of `* $ + ? #` is not substituted (AWS cert-policy-variables), so it matches
//   nothing either. iot:ClientId is substituted as is: AWS documents that a client id of `+`
//   widens topic filters, which is why Connect must pin the client id.
// - Conditions: `Bool` on iot:Connection.Thing.IsAttached, `StringEquals` / `StringLike` on the
//   variables above. Anything else (operators, keys, NotAction, NotResource, unknown fields) is a
//   PolicyError at parse time: the evaluator never silently ignores a part of a policy.
// - evaluate() checks exactly one action. The caller combines them as AWS does: a retained PUBLISH
//   needs both Action::publish and Action::retain_publish on the topic; Publish and Subscribe also
//   presuppose an allowed Connect.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace localcore {

enum class Action { connect, publish, subscribe, receive, retain_publish };

// "iot:Connect", "iot:Publish", ... as written in policies and in Decision::reason.
std::string_view action_name(Action);

struct RequestContext {
    std::string client_id;
    // iot:Connection.Thing.ThingName: set only if a thing is attached to the certificate and (for a
    // non-exclusive association) the client id equals the thing name. The caller decides that.
    std::optional<std::string> thing_name;
    bool thing_attached = false;  // iot:Connection.Thing.IsAttached
    // Subject DN fields of the client certificate by AWS name: "CommonName", "Organization", ...
    std::map<std::string, std::string> certificate_subject;
    std::string region = "ap-northeast-1";
    std::string account_id = "123456789012";
};

struct Decision {
    bool allowed;
    std::string reason;  // the statement that allowed / denied, or "no statement allows ..."; for logs
};

class PolicyError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

namespace detail {

// One piece of a resource pattern or condition value as written in the policy.
enum class Variable { region, account_id, client_id, thing_name, is_attached, subject_field };
struct Token {
    bool is_variable = false;
    std::string text;  // literal text, or the subject field name for Variable::subject_field
    Variable variable = Variable::client_id;
};
using Template = std::vector<Token>;

enum class ConditionOperator { bool_equals, string_equals, string_like };
struct Condition {
    ConditionOperator op;
    Token key;                     // always a variable
    std::vector<Template> values;  // any of them may match
};

struct Statement {
    bool allow = false;
    std::string where;         // "policy 'device' /Statement/1 (Sid ...)" for Decision::reason
    std::uint8_t actions = 0;  // bit per Action
    std::vector<Template> resources;
    std::vector<Condition> conditions;  // all must hold
};

// The variable named by `iot:...` (as in `${iot:...}` or a condition key); nullopt if unsupported.
std::optional<Token> variable_by_name(std::string_view name);
// Parses a text containing `${...}` policy variables; `where` prefixes error messages.
Template parse_template(std::string_view text, const std::string& where);
// Parses one Resource entry (`*` or an ARN) with REGION / ACCOUNT_ID placeholders.
Template parse_resource(std::string_view text, const std::string& where);
// Resolves a variable for `${...}` substitution; nullopt when it has no usable value.
std::optional<std::string> substitute(const Token& variable, const RequestContext&);
// The value of a variable as a condition key; nullopt when absent.
std::optional<std::string> context_value(const Token& variable, const RequestContext&);
// Expands a template. With as_pattern, substituted values are escaped so that their characters
// stay literal in wildcard_match. nullopt if any variable has no usable value.
std::optional<std::string> expand(const Template&, const RequestContext&, bool as_pattern);
// `*` any run, `?` one character, `\x` a literal x. Case-sensitive, linear-time backtracking.
bool wildcard_match(std::string_view pattern, std::string_view text);

}  // namespace detail

class Policy {
public:
    // Throws PolicyError "policy '<name>': <JSON pointer>: <what is wrong>".
    static Policy parse(std::string_view json, std::string name);
    // The policy name is the file name without extension (device.json -> "device").
    static Policy load_file(const std::filesystem::path&);

    const std::string& name() const { return name_; }
    const std::vector<detail::Statement>& statements() const { return *statements_; }

private:
    Policy(std::string name, std::vector<detail::Statement> statements);
    std::string name_;
    std::shared_ptr<const std::vector<detail::Statement>> statements_;
};

// The policies attached to one certificate.
class PolicySet {
public:
    void add(Policy policy) { policies_.push_back(std::move(policy)); }
    const std::vector<Policy>& policies() const { return policies_; }

    // resource: a client id (connect), a topic (publish / receive / retain_publish) or a topic
    // filter (subscribe), without the ARN prefix.
    Decision evaluate(Action, std::string_view resource, const RequestContext&) const;

private:
    std::vector<Policy> policies_;
};

}  // namespace localcore
