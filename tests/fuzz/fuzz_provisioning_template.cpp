// libFuzzer target: localcore's fleet provisioning templates, parsed
// (provisioning_template_parse.cpp) and evaluated with a request's parameters
// (provisioning_template_evaluate.cpp), as RegisterThing does.
//
// Input (fuzz_input.hpp): line 1 the request's "parameters" object as JSON (its string members
// are the parameters; anything else there means none), the rest the template. A refused template
// or parameter set is fine; anything else thrown, crashes, sanitizer reports and the broken
// invariants below are not:
// - parse throws only TemplateError, evaluate only TemplateParameterError, both naming the
//   template;
// - the certificate id is never a declared parameter (a request cannot set it);
// - evaluation is deterministic;
// - a plan only holds what the registry accepts: a valid thing name, at most three attributes,
//   valid policy names, and policy documents that parse and are named by their SHA-256.
#include "fuzz_input.hpp"
#include "policy.hpp"
#include "provisioning.hpp"
#include "registry.hpp"
#include "sha256_hex.hpp"

#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace {

using localcore::ProvisioningPlan;
using localcore::ProvisioningTemplate;

const std::string kCertificateId(64, 'c');

std::map<std::string, std::string> request_parameters(std::string_view json) {
    std::map<std::string, std::string> out;
    rapidjson::Document doc;
    doc.Parse(json.data(), json.size());
    if (doc.HasParseError() || !doc.IsObject()) return out;
    const rapidjson::Value& object = doc;  // const: clang's C++20 warning on mutable member iterators
    for (const auto& m : object.GetObject()) {
        if (!m.value.IsString()) continue;
        out[std::string(m.name.GetString(), m.name.GetStringLength())] =
            std::string(m.value.GetString(), m.value.GetStringLength());
    }
    return out;
}

bool registry_accepts(void (*validate)(std::string_view), const std::string& name) {
    try {
        validate(name);
        return true;
    } catch (const localcore::Error&) {
        return false;
    }
}

void check_plan(const ProvisioningPlan& plan) {
    IOTGW_FUZZ_CHECK(!plan.certificate_logical_name.empty());
    if (plan.thing) {
        IOTGW_FUZZ_CHECK(registry_accepts(&localcore::validate_thing_name, plan.thing->name));
        if (plan.thing->attributes) IOTGW_FUZZ_CHECK(plan.thing->attributes->size() <= 3);
    }
    for (const auto& policy : plan.policies) {
        if (!policy.document) {
            IOTGW_FUZZ_CHECK(registry_accepts(&localcore::validate_policy_name, policy.name));
            continue;
        }
        IOTGW_FUZZ_CHECK(policy.name == localcore::sha256_hex(*policy.document));
        try {
            (void)localcore::Policy::parse(*policy.document, policy.name);
        } catch (const localcore::PolicyError&) {
            IOTGW_FUZZ_CHECK(!"a PolicyDocument the parser let through does not parse");
        }
    }
}

bool same_plan(const ProvisioningPlan& a, const ProvisioningPlan& b) {
    const bool same_thing = a.thing.has_value() == b.thing.has_value() &&
                            (!a.thing || (a.thing->name == b.thing->name && a.thing->attributes == b.thing->attributes));
    bool same_policies = a.policies.size() == b.policies.size();
    for (size_t i = 0; same_policies && i < a.policies.size(); ++i)
        same_policies = a.policies[i].name == b.policies[i].name && a.policies[i].document == b.policies[i].document;
    return same_thing && same_policies && a.certificate_status == b.certificate_status &&
           a.device_configuration == b.device_configuration;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    iotgw::fuzz::LineReader in(data, size);
    const auto parameters = request_parameters(in.line());

    std::optional<ProvisioningTemplate> tmpl;
    try {
        tmpl = ProvisioningTemplate::parse(in.rest(), "fuzz");
    } catch (const localcore::TemplateError& e) {
        IOTGW_FUZZ_CHECK(std::string_view(e.what()).starts_with("template 'fuzz'"));
        return 0;
    }
    IOTGW_FUZZ_CHECK(!tmpl->parameters().contains("AWS::IoT::Certificate::Id"));

    std::optional<ProvisioningPlan> plan;
    try {
        plan = tmpl->evaluate(parameters, kCertificateId);
    } catch (const localcore::TemplateParameterError& e) {
        IOTGW_FUZZ_CHECK(std::string_view(e.what()).starts_with("template 'fuzz'"));
        return 0;
    }
    check_plan(*plan);
    IOTGW_FUZZ_CHECK(same_plan(*plan, tmpl->evaluate(parameters, kCertificateId)));
    return 0;
}
