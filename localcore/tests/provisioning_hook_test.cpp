// The built-in pre-provisioning hook against every case of the table shared with the AWS Lambda
// (cloud/provisioning/pre-provisioning-cases.json): one test per case, so the two implementations
// cannot drift without a named failure. Plus the hook configuration file and the reason sentences.
#include "provisioning_hook.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "atomic_file.hpp"

namespace localcore {
namespace {

using ::testing::HasSubstr;

struct HookCase {
    std::string name;
    std::string input;   // the case's "input" as JSON text
    bool allow = false;  // expect.allowProvisioning
    std::string reason;  // expect.reason
};

// gtest prints the case by its name, not as bytes.
void PrintTo(const HookCase& c, std::ostream* os) { *os << c.name; }

std::string to_json(const rapidjson::Value& v) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    v.Accept(w);
    return {buf.GetString(), buf.GetSize()};
}

std::vector<HookCase> load_cases() {
    const auto file = std::filesystem::path(LOCALCORE_TEMPLATE_DIR) / "pre-provisioning-cases.json";
    rapidjson::Document doc;
    const std::string text = read_file(file);
    doc.Parse(text.data(), text.size());
    std::vector<HookCase> out;
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("cases")) return out;  // CasesLoad fails
    for (const auto& c : doc["cases"].GetArray()) {
        const auto& expect = c["expect"];
        out.push_back(HookCase{c["name"].GetString(), to_json(c["input"]),
                               expect["allowProvisioning"].GetBool(), expect["reason"].GetString()});
    }
    return out;
}

TEST(PreProvisioningCases, TableLoadsAndCoversEveryReason) {
    const auto cases = load_cases();
    ASSERT_GE(cases.size(), 20U) << "cloud/provisioning/pre-provisioning-cases.json did not load";
    std::set<std::string> reasons;
    for (const auto& c : cases) reasons.insert(c.reason);
    EXPECT_EQ(reasons, (std::set<std::string>{"allowed", "invalid_parameters", "name_outside_prefix",
                                              "claim_not_device_bound", "serial_mismatch", "thing_locked"}));
}

class PreProvisioningCase : public ::testing::TestWithParam<HookCase> {};

TEST_P(PreProvisioningCase, DecidesAsTheTableSays) {
    const HookCase& c = GetParam();
    SCOPED_TRACE(c.name);
    rapidjson::Document expected;
    expected.Parse(decide_pre_provisioning_json(c.input).c_str());
    ASSERT_FALSE(expected.HasParseError());
    EXPECT_EQ(expected["allowProvisioning"].GetBool(), c.allow) << c.input;
    EXPECT_EQ(expected["reason"].GetString(), c.reason) << c.input;
}

std::string test_name(const ::testing::TestParamInfo<HookCase>& info) {
    std::string out = std::to_string(info.index) + "_";
    for (const char ch : info.param.name) out += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
    return out;
}

INSTANTIATE_TEST_SUITE_P(SharedTable, PreProvisioningCase, ::testing::ValuesIn(load_cases()), test_name);

// The sentences the device logs.
PreProvisioningDecision decide(const char* cn, const char* parameters_json, bool fleet_wide = false,
                               std::optional<std::map<std::string, std::string>> thing = std::nullopt) {
    rapidjson::Document params;
    params.Parse(parameters_json);
    PreProvisioningFacts facts;
    if (cn) facts.claim_common_name = cn;
    facts.claim_fleet_wide = fleet_wide;
    facts.parameters = &params;
    facts.thing_attributes = std::move(thing);
    return decide_pre_provisioning(facts);
}

TEST(PreProvisioningHook, RefusalsSayWhyInOneSentence) {
    EXPECT_EQ(decide("AMR-001", R"({"SerialNumber": "AMR-002"})").message,
              "claim certificate is bound to AMR-001, not AMR-002");
    EXPECT_THAT(decide("AMR-001", R"({"SerialNumber": "AMR-001"})", false, {{{"locked", "true"}}}).message,
                HasSubstr("thing AMR-001 is locked"));
    EXPECT_THAT(decide(nullptr, R"({"SerialNumber": "AMR-001"})").message, HasSubstr("names no device"));
    EXPECT_THAT(decide("AMR-001", R"({"SerialNumber": "AMR-001", "PolicyName": "admin"})").message,
                HasSubstr("'PolicyName' is not accepted"));
    const auto ok = decide("AMR-001", R"({"SerialNumber": "AMR-001"})");
    EXPECT_TRUE(ok.allow);
    EXPECT_EQ(ok.reason, "allowed");
}

TEST(PreProvisioningHook, ANameOutsideThePrefixIsRefusedNamingBoth) {
    rapidjson::Document params;
    params.Parse(R"({"SerialNumber": "ROBOT-7"})");
    PreProvisioningFacts facts;
    facts.claim_common_name = "ROBOT-7";
    facts.parameters = &params;
    facts.thing_name_prefix = "AMR-";
    const auto d = decide_pre_provisioning(facts);
    EXPECT_FALSE(d.allow);
    EXPECT_EQ(d.reason, "name_outside_prefix");
    EXPECT_EQ(d.message,
              "thing name ROBOT-7 does not start with the required prefix AMR- (thingNamePrefix): the "
              "console's role covers only things named AMR-*");
}

TEST(PreProvisioningHook, ThePrefixInTheCaseInputMustBeAString) {
    EXPECT_THROW(decide_pre_provisioning_json(R"({"claim": {"subjectCommonName": "AMR-1", "fleetWide": false},
        "parameters": {"SerialNumber": "AMR-1"}, "thing": null, "thingNamePrefix": 1})"),
                 std::invalid_argument);
}

TEST(PreProvisioningHook, MalformedCaseInputIsAnError) {
    EXPECT_THROW(decide_pre_provisioning_json("{}"), std::invalid_argument);
    EXPECT_THROW(decide_pre_provisioning_json(R"({"claim": {"subjectCommonName": 1, "fleetWide": false},
        "parameters": {}, "thing": null})"),
                 std::invalid_argument);
}

// The prefix of the example deployment (cloud/params/example.json), so that localcore refuses the
// names the AWS hook of that deployment refuses.
std::string example_deployment_prefix() {
    rapidjson::Document params;
    const std::string text =
        read_file(std::filesystem::path(LOCALCORE_TEMPLATE_DIR) / ".." / "params" / "example.json");
    params.Parse(text.data(), text.size());
    if (params.HasParseError() || !params.IsObject() || !params.HasMember("thingNamePrefix") ||
        !params["thingNamePrefix"].IsString())
        return "(cloud/params/example.json has no thingNamePrefix)";
    return params["thingNamePrefix"].GetString();
}

TEST(PreProvisioningHookConfig, TheRepositoryTemplateHasTheHookWithNoFleetWideCertificates) {
    const auto config = PreProvisioningHookConfig::load(LOCALCORE_TEMPLATE_DIR, "amr");
    ASSERT_TRUE(config.has_value()) << "cloud/provisioning/amr-hook.json is missing";
    EXPECT_TRUE(config->fleet_wide_claim_certificate_ids.empty());
    EXPECT_EQ(config->thing_name_prefix, example_deployment_prefix());
    EXPECT_FALSE(PreProvisioningHookConfig::load(LOCALCORE_TEMPLATE_DIR, "no-such-template").has_value());
}

TEST(PreProvisioningHookConfig, ParsesTheAllowListAndRefusesAnythingElse) {
    const auto config = PreProvisioningHookConfig::parse(
        R"({"rules": "device-bound-claim", "fleetWideClaimCertificateIds": ["abc", "def"]})", "t");
    EXPECT_EQ(config.fleet_wide_claim_certificate_ids, (std::set<std::string>{"abc", "def"}));
    EXPECT_EQ(config.thing_name_prefix, "") << "no thingNamePrefix: no prefix rule";
    EXPECT_EQ(
        PreProvisioningHookConfig::parse(R"({"rules": "device-bound-claim", "thingNamePrefix": "AMR-"})", "t")
            .thing_name_prefix,
        "AMR-");
    for (const char* bad : {"[]", R"({"fleetWideClaimCertificateIds": []})", R"({"rules": "allow-all"})",
                            R"({"rules": "device-bound-claim", "fleetWideClaimCertificateIds": "abc"})",
                            R"({"rules": "device-bound-claim", "fleetWideClaimCertificateIds": [1]})",
                            R"({"rules": "device-bound-claim", "extra": true})"}) {
        EXPECT_THROW(PreProvisioningHookConfig::parse(bad, "t"), Error) << bad;
    }
}

TEST(PreProvisioningHookConfig, ThingNamePrefixMustBeTheStartOfAThingName) {
    // The same rule as cloud/lib/params.ts's thingNamePrefix: no IAM wildcard, topic level or policy
    // variable; empty is refused (leave the member out for no prefix rule).
    for (const char* bad :
         {R"("")", R"("AMR-*")", R"("amr/AMR-")", R"("${iot:ClientId}")", R"(1)", R"(null)"}) {
        const std::string json =
            std::string(R"({"rules": "device-bound-claim", "thingNamePrefix": )") + bad + "}";
        try {
            PreProvisioningHookConfig::parse(json, "amr-hook.json");
            ADD_FAILURE() << "accepted " << json;
        } catch (const Error& e) {
            EXPECT_THAT(e.what(),
                        HasSubstr("amr-hook.json: \"thingNamePrefix\" must be the start of a thing name"))
                << json;
        }
    }
    const std::string longest(128, 'A');
    EXPECT_EQ(PreProvisioningHookConfig::parse(
                  R"({"rules": "device-bound-claim", "thingNamePrefix": ")" + longest + "\"}", "t")
                  .thing_name_prefix,
              longest);
    EXPECT_THROW(PreProvisioningHookConfig::parse(
                     R"({"rules": "device-bound-claim", "thingNamePrefix": ")" + longest + "A\"}", "t"),
                 Error);
}

}  // namespace
}  // namespace localcore
