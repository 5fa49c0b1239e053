// Policy variables (`${iot:...}`) and the REGION / ACCOUNT_ID placeholders of resource ARNs.
#include "policy.hpp"

#include <array>

namespace localcore::detail {
namespace {

// AWS cert-policy-variables lists these Subject fields; the others do not exist on AWS, so a policy
// using one would behave differently there.
constexpr std::array<std::string_view, 14> kSubjectFields = {"Country",
                                                             "Organization",
                                                             "OrganizationalUnit",
                                                             "DistinguishedNameQualifier",
                                                             "State",
                                                             "CommonName",
                                                             "SerialNumber",
                                                             "Locality",
                                                             "Title",
                                                             "Surname",
                                                             "GivenName",
                                                             "Initials",
                                                             "Pseudonym",
                                                             "GenerationQualifier"};

constexpr std::string_view kSubjectPrefix = "iot:Certificate.Subject.";
constexpr std::string_view kSupported =
    "${iot:ClientId}, ${iot:Connection.Thing.ThingName}, ${iot:Connection.Thing.IsAttached} and "
    "${iot:Certificate.Subject.<Field>}";

Token variable(Variable v, std::string text = {}) { return Token{true, std::move(text), v}; }

void append_literal(Template& out, std::string_view text) {
    if (!text.empty()) out.push_back(Token{false, std::string(text), Variable::client_id});
}

bool has_wildcard(std::string_view s) { return s.find_first_of("*?") != std::string_view::npos; }

}  // namespace

std::optional<Token> variable_by_name(std::string_view name) {
    if (name == "iot:ClientId") return variable(Variable::client_id);
    if (name == "iot:Connection.Thing.ThingName") return variable(Variable::thing_name);
    if (name == "iot:Connection.Thing.IsAttached") return variable(Variable::is_attached);
    if (name.starts_with(kSubjectPrefix)) {
        const std::string_view field = name.substr(kSubjectPrefix.size());
        for (const std::string_view known : kSubjectFields) {
            if (field == known) return variable(Variable::subject_field, std::string(field));
        }
    }
    return std::nullopt;
}

Template parse_template(std::string_view text, const std::string& where) {
    Template out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const std::size_t open = text.find("${", pos);
        if (open == std::string_view::npos) break;
        append_literal(out, text.substr(pos, open - pos));
        const std::size_t close = text.find('}', open);
        if (close == std::string_view::npos) {
            throw PolicyError(where + ": unterminated policy variable in '" + std::string(text) +
                              "' (missing '}')");
        }
        const std::string_view name = text.substr(open + 2, close - open - 2);
        std::optional<Token> var = variable_by_name(name);
        if (!var) {
            throw PolicyError(where + ": unsupported policy variable '${" + std::string(name) +
                              "}'; localcore supports " + std::string(kSupported));
        }
        out.push_back(std::move(*var));
        pos = close + 1;
    }
    append_literal(out, text.substr(pos));
    return out;
}

Template parse_resource(std::string_view text, const std::string& where) {
    if (text == "*") return Template{Token{false, "*", Variable::client_id}};
    const std::string quoted = "resource '" + std::string(text) + "'";
    constexpr std::string_view prefix = "arn:aws:iot:";
    if (!text.starts_with(prefix)) {
        throw PolicyError(where + ": " + quoted +
                          " is neither '*' nor an AWS IoT ARN (arn:aws:iot:REGION:ACCOUNT_ID:...)");
    }
    const std::size_t region_end = text.find(':', prefix.size());
    const std::size_t account_end =
        region_end == std::string_view::npos ? region_end : text.find(':', region_end + 1);
    if (account_end == std::string_view::npos) {
        throw PolicyError(where + ": " + quoted +
                          " is not a complete ARN (arn:aws:iot:REGION:ACCOUNT_ID:<type>/<name>)");
    }
    const std::string_view region = text.substr(prefix.size(), region_end - prefix.size());
    const std::string_view account = text.substr(region_end + 1, account_end - region_end - 1);
    const std::string_view rest = text.substr(account_end + 1);
    const std::size_t slash = rest.find('/');
    const std::string_view type = rest.substr(0, slash);
    if (!has_wildcard(type)) {
        if (type != "client" && type != "topic" && type != "topicfilter" && type != "thing") {
            throw PolicyError(where + ": " + quoted + " has resource type '" + std::string(type) +
                              "'; localcore knows client, topic, topicfilter and thing");
        }
        if (slash == std::string_view::npos) {
            throw PolicyError(where + ": " + quoted + " has no name after '" + std::string(type) +
                              "' (expected " + std::string(type) + "/<name>)");
        }
    }

    Template out;
    append_literal(out, prefix);
    if (region == "REGION") {
        out.push_back(variable(Variable::region));
    } else {
        for (Token& t : parse_template(region, where)) out.push_back(std::move(t));
    }
    append_literal(out, ":");
    if (account == "ACCOUNT_ID") {
        out.push_back(variable(Variable::account_id));
    } else {
        for (Token& t : parse_template(account, where)) out.push_back(std::move(t));
    }
    append_literal(out, ":");
    for (Token& t : parse_template(rest, where)) out.push_back(std::move(t));
    return out;
}

std::optional<std::string> context_value(const Token& var, const RequestContext& ctx) {
    switch (var.variable) {
        case Variable::region:
            return ctx.region;
        case Variable::account_id:
            return ctx.account_id;
        case Variable::client_id:
            return ctx.client_id;
        case Variable::thing_name:
            return ctx.thing_name;
        case Variable::is_attached:
            return std::string(ctx.thing_attached ? "true" : "false");
        case Variable::subject_field: {
            const auto it = ctx.certificate_subject.find(var.text);
            if (it == ctx.certificate_subject.end()) return std::nullopt;
            return it->second;
        }
    }
    return std::nullopt;
}

std::optional<std::string> substitute(const Token& var, const RequestContext& ctx) {
    std::optional<std::string> value = context_value(var, ctx);
    // AWS refuses to substitute certificate values that could act as wildcards or variables.
    if (value && var.variable == Variable::subject_field &&
        value->find_first_of("*$+?#") != std::string::npos) {
        return std::nullopt;
    }
    return value;
}

std::optional<std::string> expand(const Template& tmpl, const RequestContext& ctx, bool as_pattern) {
    std::string out;
    for (const Token& token : tmpl) {
        if (!token.is_variable) {
            for (const char c : token.text) {
                if (as_pattern && c == '\\') out += '\\';
                out += c;
            }
            continue;
        }
        const std::optional<std::string> value = substitute(token, ctx);
        if (!value) return std::nullopt;
        for (const char c : *value) {
            if (as_pattern && (c == '\\' || c == '*' || c == '?')) out += '\\';
            out += c;
        }
    }
    return out;
}

}  // namespace localcore::detail
