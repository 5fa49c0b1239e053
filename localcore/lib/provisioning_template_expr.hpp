// The checked form of a provisioning template, private to the provisioning_template*.cpp files: the
// parser (provisioning_template_parse.cpp) builds it from the JSON, refusing what AWS refuses when a
// template is created; the evaluator (provisioning_template_evaluate.cpp) turns it into a
// ProvisioningPlan with a request's parameters.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "provisioning.hpp"

namespace localcore {
namespace template_detail {

// The parameter every template may Ref: always the id of the certificate just created.
constexpr std::string_view kCertificateIdParameter = "AWS::IoT::Certificate::Id";

// The static type of an expression: FindInMap may yield either (mappings hold strings or lists).
enum class Type { string, list, any };

struct Expr {
    enum class Kind { literal, list, ref, join, sub, select, split, find_in_map };
    Kind kind = Kind::literal;
    Type type = Type::string;
    std::string path;  // JSON pointer, for messages
    std::string text;  // literal value, Ref name or delimiter
    // list: items; join: {list}; sub: the variable map's values; select: {index?, list};
    // split: {source}; find_in_map: {map, top key, second key}
    std::vector<Expr> args;
    // sub: the string split into literal text and variables (variable = true: `text` is its name).
    std::vector<std::pair<bool, std::string>> parts;
    std::map<std::string, std::size_t> sub_variables;  // sub: name -> index in args
    std::optional<std::size_t> index;                  // select: a literal index
};

using MappingValue = std::variant<std::string, std::vector<std::string>>;
using Mappings = std::map<std::string, std::map<std::string, std::map<std::string, MappingValue>>>;

// A certificate Status as AWS accepts it: ACTIVE or INACTIVE, or Active / Inactive.
inline std::optional<CertStatus> parse_certificate_status(std::string_view s) {
    if (s == "ACTIVE" || s == "Active") return CertStatus::Active;
    if (s == "INACTIVE" || s == "Inactive") return CertStatus::Inactive;
    return std::nullopt;
}

}  // namespace template_detail

struct ProvisioningTemplate::Impl {
    using Expr = template_detail::Expr;

    struct ThingResource {
        std::string logical_name;
        std::string path;
        Expr thing_name;
        std::optional<std::vector<std::pair<std::string, Expr>>> attributes;
        OverrideAction attributes_override = OverrideAction::do_nothing;
    };
    struct CertificateResource {
        std::string logical_name;
        std::string path;
        std::optional<Expr> status;
    };
    struct PolicyResource {
        std::string logical_name;
        std::string path;
        std::optional<Expr> name;             // PolicyName
        std::optional<std::string> document;  // PolicyDocument, as stored in the registry
    };

    std::string name;
    std::map<std::string, std::optional<std::string>> parameters;
    bool declares_certificate_id = false;
    template_detail::Mappings mappings;
    std::optional<ThingResource> thing;
    std::optional<CertificateResource> certificate;
    std::vector<PolicyResource> policies;
    std::vector<std::pair<std::string, Expr>> device_configuration;
};

}  // namespace localcore
