// Provisioning templates, evaluation: a parsed template and a request's parameters give the
// ProvisioningPlan, computing the intrinsic functions Ref, Fn::Join, Fn::Sub, Fn::Select, Fn::Split and
// Fn::FindInMap. What the parameters make invalid is a TemplateParameterError naming the JSON pointer.
#include <charconv>
#include <utility>
#include <variant>

#include "provisioning.hpp"
#include "provisioning_template_expr.hpp"
#include "sha256_hex.hpp"

namespace localcore {
namespace {

using template_detail::Expr;
using template_detail::kCertificateIdParameter;
using template_detail::parse_certificate_status;

using Value = std::variant<std::string, std::vector<std::string>>;

class Evaluator {
public:
    Evaluator(const ProvisioningTemplate::Impl& t, std::map<std::string, std::string> variables)
        : t_(t), variables_(std::move(variables)) {}

    [[noreturn]] void fail(const std::string& path, const std::string& what) const {
        throw TemplateParameterError("template '" + t_.name + "' " + path + ": " + what);
    }

    std::string string(const Expr& e) const {
        auto v = eval(e);
        if (auto* s = std::get_if<std::string>(&v)) return std::move(*s);
        fail(e.path,
             "this evaluates to a list where a string is expected; check the mapping keys given by "
             "the parameters");
    }

    std::vector<std::string> list(const Expr& e) const {
        auto v = eval(e);
        if (auto* l = std::get_if<std::vector<std::string>>(&v)) return std::move(*l);
        fail(e.path,
             "this evaluates to a string where a list is expected; check the mapping keys given by "
             "the parameters");
    }

private:
    Value eval(const Expr& e) const {
        switch (e.kind) {
            case Expr::Kind::literal:
                return e.text;
            case Expr::Kind::list:
                return list_of(e);
            case Expr::Kind::ref:
                return variables_.at(e.text);  // parse() and evaluate() guarantee presence
            case Expr::Kind::join:
                return join(e);
            case Expr::Kind::sub:
                return sub(e);
            case Expr::Kind::select:
                return select(e);
            case Expr::Kind::split:
                return split(e);
            case Expr::Kind::find_in_map:
                return find_in_map(e);
        }
        return std::string();
    }

    std::vector<std::string> list_of(const Expr& e) const {
        std::vector<std::string> out;
        for (const auto& item : e.args) out.push_back(string(item));
        return out;
    }

    std::string join(const Expr& e) const {
        std::string out;
        const auto items = list(e.args[0]);
        for (std::size_t i = 0; i < items.size(); ++i) {
            if (i) out += e.text;
            out += items[i];
        }
        return out;
    }

    std::string sub(const Expr& e) const {
        std::string out;
        for (const auto& [is_variable, text] : e.parts) {
            if (!is_variable) {
                out += text;
            } else if (auto it = e.sub_variables.find(text); it != e.sub_variables.end()) {
                out += string(e.args[it->second]);
            } else {
                out += variables_.at(text);
            }
        }
        return out;
    }

    std::string select(const Expr& e) const {
        std::size_t index = 0;
        if (e.index) {
            index = *e.index;
        } else {
            const auto text = string(e.args[0]);
            const auto* end = text.data() + text.size();
            auto [ptr, ec] = std::from_chars(text.data(), end, index);
            if (text.empty() || ec != std::errc() || ptr != end)
                fail(e.args[0].path, "Fn::Select index '" + text + "' is not a non-negative integer");
        }
        auto items = list(e.args.back());
        if (index >= items.size())
            fail(e.path, "Fn::Select index " + std::to_string(index) + " is out of range for a list of " +
                             std::to_string(items.size()) + " values");
        return std::move(items[index]);
    }

    std::vector<std::string> split(const Expr& e) const {
        const auto text = string(e.args[0]);
        std::vector<std::string> out;
        std::size_t start = 0;
        for (;;) {
            const auto at = text.find(e.text, start);
            out.push_back(text.substr(start, at == std::string::npos ? std::string::npos : at - start));
            if (at == std::string::npos) break;
            start = at + e.text.size();
        }
        return out;
    }

    Value find_in_map(const Expr& e) const {
        const auto map = string(e.args[0]);
        const auto top = string(e.args[1]);
        const auto key = string(e.args[2]);
        auto m = t_.mappings.find(map);
        if (m == t_.mappings.end()) fail(e.args[0].path, "no mapping '" + map + "'");
        auto t = m->second.find(top);
        if (t == m->second.end()) fail(e.args[1].path, "mapping '" + map + "' has no key '" + top + "'");
        auto v = t->second.find(key);
        if (v == t->second.end())
            fail(e.args[2].path, "mapping '" + map + "' key '" + top + "' has no key '" + key + "'");
        return v->second;
    }

    const ProvisioningTemplate::Impl& t_;
    std::map<std::string, std::string> variables_;
};

// The request's parameters, the defaults of those it leaves out and the certificate id (which a
// request cannot override). Throws TemplateParameterError naming every parameter without a value.
std::map<std::string, std::string> bind_parameters(const ProvisioningTemplate::Impl& t,
                                                   const std::map<std::string, std::string>& parameters,
                                                   std::string_view certificate_id) {
    std::map<std::string, std::string> variables;
    std::vector<std::string> missing;
    for (const auto& [name, default_value] : t.parameters) {
        if (auto it = parameters.find(name); it != parameters.end())
            variables.emplace(name, it->second);
        else if (default_value)
            variables.emplace(name, *default_value);
        else
            missing.push_back("'" + name + "'");
    }
    if (!missing.empty()) {
        std::string list;
        for (std::size_t i = 0; i < missing.size(); ++i) list += (i ? ", " : "") + missing[i];
        throw TemplateParameterError(
            "template '" + t.name +
            "': " + (missing.size() == 1 ? "parameter " + list + " is" : "parameters " + list + " are") +
            " missing and " + (missing.size() == 1 ? "has" : "have") + " no default; pass " +
            (missing.size() == 1 ? "it" : "them") + " in \"parameters\"");
    }
    variables[std::string(kCertificateIdParameter)] = std::string(certificate_id);
    return variables;
}

ProvisioningPlan::ThingPart plan_thing(const ProvisioningTemplate::Impl::ThingResource& resource,
                                       const Evaluator& ev) {
    ProvisioningPlan::ThingPart thing;
    thing.logical_name = resource.logical_name;
    thing.name = ev.string(resource.thing_name);
    try {
        validate_thing_name(thing.name);
    } catch (const Error& e) {
        ev.fail(resource.thing_name.path, e.what());
    }
    if (resource.attributes) {
        std::map<std::string, std::string> attributes;
        for (const auto& [key, value] : *resource.attributes) attributes[key] = ev.string(value);
        thing.attributes = std::move(attributes);
    }
    thing.attributes_override = resource.attributes_override;
    return thing;
}

CertStatus plan_certificate_status(const Expr& status_expr, const Evaluator& ev) {
    const auto status = ev.string(status_expr);
    auto parsed = parse_certificate_status(status);
    if (!parsed)
        ev.fail(status_expr.path,
                "Status '" + status + "' must be ACTIVE or INACTIVE (or Active / Inactive)");
    return *parsed;
}

// A PolicyDocument becomes a policy named by the document's SHA-256, as on AWS; a PolicyName names an
// existing policy.
ProvisioningPlan::PolicyPart plan_policy(const ProvisioningTemplate::Impl::PolicyResource& resource,
                                         const Evaluator& ev) {
    ProvisioningPlan::PolicyPart part;
    part.logical_name = resource.logical_name;
    if (resource.document) {
        part.name = sha256_hex(*resource.document);
        part.document = resource.document;
        return part;
    }
    part.name = ev.string(*resource.name);
    try {
        validate_policy_name(part.name);
    } catch (const Error& e) {
        ev.fail(resource.name->path, e.what());
    }
    return part;
}

}  // namespace

ProvisioningPlan ProvisioningTemplate::evaluate(const std::map<std::string, std::string>& parameters,
                                                std::string_view certificate_id) const {
    const auto& t = *impl_;
    const Evaluator ev(t, bind_parameters(t, parameters, certificate_id));
    ProvisioningPlan plan;
    if (t.thing) plan.thing = plan_thing(*t.thing, ev);
    plan.certificate_logical_name = t.certificate->logical_name;
    if (t.certificate->status) plan.certificate_status = plan_certificate_status(*t.certificate->status, ev);
    for (const auto& p : t.policies) plan.policies.push_back(plan_policy(p, ev));
    for (const auto& [key, value] : t.device_configuration) plan.device_configuration[key] = ev.string(value);
    return plan;
}

}  // namespace localcore
