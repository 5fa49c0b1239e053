// Provisioning templates: structure checks with JSON-pointer messages, parameters, intrinsic
// functions and the resources they produce (no registry involved).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <string>

#include <openssl/evp.h>
#include <unistd.h>

#include "atomic_file.hpp"
#include "provisioning.hpp"

namespace {

namespace fs = std::filesystem;
using localcore::CertStatus;
using localcore::OverrideAction;
using localcore::ProvisioningTemplate;
using localcore::TemplateError;
using localcore::TemplateParameterError;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kCertId(64, 'c');

fs::path source_templates() { return fs::path(LOCALCORE_POLICY_DIR).parent_path() / "provisioning"; }

std::string sha256_hex(const std::string& text) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(text.data(), text.size(), md, &len, EVP_sha256(), nullptr);
    std::string out;
    char buf[3];
    for (unsigned int i = 0; i < len; ++i) {
        std::snprintf(buf, sizeof buf, "%02x", md[i]);
        out += buf;
    }
    return out;
}

// A template with the mandatory certificate resource and the given extra parts.
std::string with_certificate(const std::string& parameters, const std::string& extra_resources,
                             const std::string& tail = "") {
    return R"({"Parameters": {)" + parameters + R"(}, "Resources": {)" + extra_resources +
           (extra_resources.empty() ? "" : ",") +
           R"("cert": {"Type": "AWS::IoT::Certificate", "Properties": {"CertificateId": {"Ref": "AWS::IoT::Certificate::Id"}}}})" +
           tail + "}";
}

// Evaluates `expression` as DeviceConfiguration value "v" of a template declaring A, B, List, Index.
std::string device_value(const std::string& expression, const std::map<std::string, std::string>& params,
                         const std::string& mappings = "{}") {
    auto t = ProvisioningTemplate::parse(
        with_certificate(
            R"("A": {"Type": "String"}, "B": {"Type": "String", "Default": "bee"},
                            "List": {"Type": "String", "Default": "x,y,z"},
                            "Index": {"Type": "String", "Default": "1"})",
            "", R"(, "Mappings": )" + mappings + R"(, "DeviceConfiguration": {"v": )" + expression + "}"),
        "t");
    return t.evaluate(params, kCertId).device_configuration.at("v");
}

void expect_template_error(const std::string& json, const std::string& text) {
    try {
        (void)ProvisioningTemplate::parse(json, "t");
        ADD_FAILURE() << "expected a TemplateError containing: " << text;
    } catch (const TemplateError& e) {
        EXPECT_THAT(e.what(), HasSubstr(text));
    }
}

void expect_parameter_error(const std::function<void()>& f, const std::string& text) {
    try {
        f();
        ADD_FAILURE() << "expected a TemplateParameterError containing: " << text;
    } catch (const TemplateParameterError& e) {
        EXPECT_THAT(e.what(), HasSubstr(text));
    }
}

TEST(ProvisioningTemplate, TheAmrTemplateProvisionsTheSerialNumberAsThing) {
    auto t = ProvisioningTemplate::load(source_templates(), "amr");
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(t->name(), "amr");
    EXPECT_EQ(t->parameters().count("SerialNumber"), 1u);
    EXPECT_EQ(t->parameters().count("AWS::IoT::Certificate::Id"), 0u);  // injected, never asked for

    auto plan = t->evaluate({{"SerialNumber", "AMR-001"}}, kCertId);
    ASSERT_TRUE(plan.thing.has_value());
    EXPECT_EQ(plan.thing->name, "AMR-001");
    ASSERT_TRUE(plan.thing->attributes.has_value());
    EXPECT_EQ(plan.thing->attributes->at("serialNumber"), "AMR-001");
    EXPECT_EQ(plan.certificate_status, CertStatus::Active);
    ASSERT_EQ(plan.policies.size(), 1u);
    EXPECT_EQ(plan.policies[0].name, "device");
    EXPECT_FALSE(plan.policies[0].document.has_value());
    EXPECT_EQ(plan.device_configuration.at("thingName"), "AMR-001");
    EXPECT_EQ(plan.device_configuration.at("topicPrefix"), "amr/AMR-001");
    EXPECT_EQ(plan.device_configuration.at("shadowTopicPrefix"), "$aws/things/AMR-001/shadow");
    EXPECT_EQ(plan.device_configuration.at("rotationTopic"), "amr/AMR-001/certificate/rotated");
}

TEST(ProvisioningTemplate, NamesFollowTheAwsRuleAndStayInTheDirectory) {
    EXPECT_TRUE(ProvisioningTemplate::valid_name("amr"));
    EXPECT_TRUE(ProvisioningTemplate::valid_name("A_b-9"));
    EXPECT_TRUE(ProvisioningTemplate::valid_name(std::string(36, 'x')));
    EXPECT_FALSE(ProvisioningTemplate::valid_name(std::string(37, 'x')));
    EXPECT_FALSE(ProvisioningTemplate::valid_name(""));
    EXPECT_FALSE(ProvisioningTemplate::valid_name(".."));
    EXPECT_FALSE(ProvisioningTemplate::valid_name("a.b"));
    EXPECT_FALSE(ProvisioningTemplate::valid_name("a/b"));
    EXPECT_FALSE(ProvisioningTemplate::valid_name("a b"));
    EXPECT_EQ(ProvisioningTemplate::file_for("/t", "amr"), fs::path("/t/amr-template.json"));
    EXPECT_THROW(ProvisioningTemplate::file_for("/t", "../etc"), localcore::Error);
    EXPECT_THROW(ProvisioningTemplate::load(source_templates(), ".."), localcore::Error);
    EXPECT_FALSE(ProvisioningTemplate::load(source_templates(), "nope").has_value());
}

TEST(ProvisioningTemplate, ErrorsNameTheJsonPointer) {
    const std::string json = with_certificate(
        R"("SerialNumber": {"Type": "String"})",
        R"("thing": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": {"Ref": "Serial"}}})");
    try {
        (void)ProvisioningTemplate::parse(json, "amr");
        FAIL() << "expected a TemplateError";
    } catch (const TemplateError& e) {
        EXPECT_THAT(e.what(), StartsWith("template 'amr' /Resources/thing/Properties/ThingName: Ref to "
                                         "unknown parameter 'Serial'; "));
    }
}

TEST(ProvisioningTemplate, StructuralErrorsAreRefused) {
    const std::string cert =
        R"("cert": {"Type": "AWS::IoT::Certificate", "Properties": {"CertificateId": {"Ref": "AWS::IoT::Certificate::Id"}}})";
    expect_template_error("{", "not valid JSON");
    expect_template_error("[]", "not a JSON object");
    expect_template_error(R"({"Parameters": {}})", "no Resources");
    expect_template_error(R"({"Resources": {}, "Outputs": {}})", "/Outputs: unknown top-level section");
    expect_template_error(R"({"Resources": {}})", "/Resources: no AWS::IoT::Certificate resource");
    expect_template_error(R"({"Resources": {)" + cert + ", " + cert + "}}", "the key appears twice");
    expect_template_error(
        R"({"Resources": {"c": {"Type": "AWS::IoT::Certificate", "Properties": {"CertificateId": "abc"}}}})",
        "/Resources/c/Properties/CertificateId: fleet provisioning templates must write");
    expect_template_error(
        R"({"Resources": {"c": {"Type": "AWS::IoT::Certificate", "Properties": {"CertificateSigningRequest": "x"}}}})",
        "can only use CertificateId");
    expect_template_error(with_certificate("", R"("x": {"Type": "AWS::IoT::ThingGroup", "Properties": {}})"),
                          "/Resources/x/Type: unknown resource type 'AWS::IoT::ThingGroup'");
    expect_template_error(with_certificate(R"("P": {"Type": "Number"})", ""),
                          "/Parameters/P/Type: only Type");
    expect_template_error(with_certificate(R"("P": {"Default": "x"})", ""),
                          "/Parameters/P: the parameter has no Type");
    expect_template_error(with_certificate(R"("P": {"Type": "String", "AllowedValues": ["a"]})", ""),
                          "/Parameters/P/AllowedValues: unsupported parameter attribute");
    expect_template_error(
        with_certificate("", R"("t1": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": "a"}},
                                "t2": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": "b"}})"),
        "/Resources/t2: a template declares at most one AWS::IoT::Thing");
    expect_template_error(with_certificate("", R"("t": {"Type": "AWS::IoT::Thing", "Properties": {}})"),
                          "/Resources/t/Properties: ThingName is required");
    expect_template_error(
        with_certificate("", R"("t": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": "bad name"}})"),
        "/Resources/t/Properties/ThingName: invalid thing name 'bad name'");
    expect_template_error(
        with_certificate(
            "",
            R"("t": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": "a", "ThingGroups": ["g"]}})"),
        "/Resources/t/Properties/ThingGroups: not supported by localcore");
    expect_template_error(
        with_certificate("", R"("t": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": "a",
                               "AttributePayload": {"a": "1", "b": "2", "c": "3", "d": "4"}}})"),
        "at most 3 attributes");
    expect_template_error(
        with_certificate("", R"("t": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": "a"},
                               "OverrideSettings": {"ThingTypeName": "MERGE"}})"),
        "/Resources/t/OverrideSettings/ThingTypeName: MERGE is valid only");
    expect_template_error(
        with_certificate("", R"("t": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": "a"},
                               "OverrideSettings": {"AttributePayload": "KEEP"}})"),
        "must be \"DO_NOTHING\", \"REPLACE\", \"FAIL\" or \"MERGE\"");
    expect_template_error(
        R"({"Resources": {"c": {"Type": "AWS::IoT::Certificate", "Properties": {"CertificateId": {"Ref": "AWS::IoT::Certificate::Id"}, "Status": "REVOKED"}}}})",
        "/Resources/c/Properties/Status: Status must be ACTIVE or INACTIVE");
    expect_template_error(with_certificate("", R"("p": {"Type": "AWS::IoT::Policy", "Properties": {}})"),
                          "/Resources/p/Properties: give exactly one of PolicyName");
    expect_template_error(
        with_certificate("", R"("p": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyName": "a",
                               "PolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}]}}})"),
        "give exactly one of PolicyName");
    expect_template_error(
        with_certificate(
            "",
            R"("p": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyDocument": {"Statement": [{"Effect": "Maybe"}]}}})"),
        "/Resources/p/Properties/PolicyDocument: invalid policy document");
    expect_template_error(
        with_certificate(
            "", R"("p": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyDocument": "{not json"}})"),
        "/Resources/p/Properties/PolicyDocument: invalid policy document");
}

TEST(ProvisioningTemplate, ExpressionErrorsAreRefused) {
    const auto dc = [](const std::string& value, const std::string& mappings = "{}") {
        return with_certificate(
            R"("A": {"Type": "String"})", "",
            R"(, "Mappings": )" + mappings + R"(, "DeviceConfiguration": {"v": )" + value + "}");
    };
    expect_template_error(dc(R"({"nested": {"a": "b"}})"),
                          "/DeviceConfiguration/v: DeviceConfiguration is a flat map");
    expect_template_error(dc(R"(["a", "b"])"), "/DeviceConfiguration/v: DeviceConfiguration is a flat map");
    expect_template_error(dc(R"({"Fn::Split": [",", "a,b"]})"),
                          "/DeviceConfiguration/v: DeviceConfiguration is a flat map");
    expect_template_error(dc("42"), "/DeviceConfiguration/v: expected a string");
    expect_template_error(dc(R"({"Fn::GetAtt": ["a", "b"]})"),
                          "/DeviceConfiguration/v/Fn::GetAtt: Fn::GetAtt is not available");
    expect_template_error(dc(R"({"Ref": "cert"})"), "Ref to resource 'cert' is not supported");
    expect_template_error(dc(R"({"Fn::Join": [",", "a"]})"),
                          "/DeviceConfiguration/v/Fn::Join/1: Fn::Join needs a list");
    expect_template_error(dc(R"({"Fn::Join": ["a"]})"), "Fn::Join takes");
    expect_template_error(dc(R"({"Fn::Join": [",", [["a"]]]})"),
                          "/DeviceConfiguration/v/Fn::Join/1/0: this is a list");
    expect_template_error(dc(R"({"Fn::Split": ["", "a"]})"), "non-empty literal delimiter");
    expect_template_error(dc(R"({"Fn::Select": [2, ["a", "b"]]})"),
                          "/DeviceConfiguration/v/Fn::Select/0: index 2 is out of range");
    expect_template_error(dc(R"({"Fn::Select": ["x", ["a"]]})"), "the index must be a non-negative integer");
    expect_template_error(dc(R"({"Fn::Sub": "a ${Nope} b"})"),
                          "Fn::Sub variable ${Nope} is neither a parameter");
    expect_template_error(dc(R"({"Fn::Sub": "a ${A"})"), "unterminated ${");
    expect_template_error(dc(R"({"Fn::Sub": ["x", "y"]})"), "Fn::Sub takes");
    expect_template_error(dc(R"({"Fn::FindInMap": ["M", "a", "b"]})"), "/Fn::FindInMap/0: no mapping 'M'");
    expect_template_error(dc(R"({"Fn::FindInMap": ["M", "zz", "b"]})", R"({"M": {"a": {"b": "c"}}})"),
                          "/Fn::FindInMap/1: mapping 'M' has no key 'zz'");
    expect_template_error(dc(R"({"Fn::FindInMap": ["M", "a", "q"]})", R"({"M": {"a": {"b": "c"}}})"),
                          "/Fn::FindInMap/2: mapping 'M' key 'a' has no key 'q'");
    expect_template_error(dc(R"("x")", R"({"M": {"a": {"b": {"Ref": "A"}}}})"),
                          "/Mappings/M/a/b: Mappings are");
}

TEST(ProvisioningTemplate, ParametersUseTheRequestThenTheDefault) {
    EXPECT_EQ(device_value(R"({"Ref": "B"})", {{"A", "a"}}), "bee");
    EXPECT_EQ(device_value(R"({"Ref": "B"})", {{"A", "a"}, {"B", "given"}}), "given");
    EXPECT_EQ(device_value(R"({"Ref": "B"})", {{"A", "a"}, {"B", ""}}), "");  // empty is a value
    EXPECT_EQ(device_value(R"({"Ref": "A"})", {{"A", "a"}, {"Unused", "x"}}), "a");
}

TEST(ProvisioningTemplate, AMissingParameterWithoutDefaultIsAParameterError) {
    expect_parameter_error(
        [] { device_value(R"({"Ref": "B"})", {}); },
        "template 't': parameter 'A' is missing and has no default; pass it in \"parameters\"");
    auto t = ProvisioningTemplate::parse(
        with_certificate(R"("X": {"Type": "String"}, "Y": {"Type": "String"})", ""), "t");
    expect_parameter_error([&] { t.evaluate({}, kCertId); }, "parameters 'X', 'Y' are missing");
}

TEST(ProvisioningTemplate, TheCertificateIdCannotBeOverriddenByTheRequest) {
    EXPECT_EQ(device_value(R"({"Ref": "AWS::IoT::Certificate::Id"})",
                           {{"A", "a"}, {"AWS::IoT::Certificate::Id", "forged"}}),
              kCertId);
}

TEST(ProvisioningTemplate, FnJoin) {
    EXPECT_EQ(device_value(R"({"Fn::Join": ["-", ["amr", {"Ref": "A"}, "x"]]})", {{"A", "7"}}), "amr-7-x");
    EXPECT_EQ(device_value(R"({"Fn::Join": ["", ["a", "b"]]})", {{"A", "7"}}), "ab");
    EXPECT_EQ(device_value(R"({"Fn::Join": [",", []]})", {{"A", "7"}}), "");
    EXPECT_EQ(device_value(R"({"Fn::Join": ["+", {"Fn::Split": [",", {"Ref": "List"}]}]})", {{"A", "7"}}),
              "x+y+z");
}

TEST(ProvisioningTemplate, FnSub) {
    EXPECT_EQ(
        device_value(R"({"Fn::Sub": "thing ${A} cert ${AWS::IoT::Certificate::Id}"})", {{"A", "AMR-1"}}),
        "thing AMR-1 cert " + kCertId);
    EXPECT_EQ(device_value(R"({"Fn::Sub": "${A}${B}"})", {{"A", "1"}}), "1bee");
    EXPECT_EQ(device_value(R"({"Fn::Sub": "$A ${!A} $"})", {{"A", "1"}}), "$A ${A} $");
    EXPECT_EQ(
        device_value(R"({"Fn::Sub": ["${Greeting}, ${A}", {"Greeting": {"Fn::Join": ["", ["he", "llo"]]}}]})",
                     {{"A", "amr"}}),
        "hello, amr");
    // The variable map wins over a parameter of the same name.
    EXPECT_EQ(device_value(R"({"Fn::Sub": ["${A}", {"A": "mapped"}]})", {{"A", "param"}}), "mapped");
}

TEST(ProvisioningTemplate, FnSelectAndFnSplit) {
    EXPECT_EQ(device_value(R"({"Fn::Select": [0, ["a", "b"]]})", {{"A", "-"}}), "a");
    EXPECT_EQ(device_value(R"({"Fn::Select": ["1", ["a", "b"]]})", {{"A", "-"}}), "b");
    EXPECT_EQ(device_value(R"({"Fn::Select": [2, {"Fn::Split": [",", {"Ref": "List"}]}]})", {{"A", "-"}}),
              "z");
    EXPECT_EQ(device_value(R"({"Fn::Select": [{"Ref": "Index"}, {"Fn::Split": [",", {"Ref": "List"}]}]})",
                           {{"A", "-"}, {"Index", "0"}}),
              "x");
    EXPECT_EQ(device_value(R"({"Fn::Select": [1, {"Fn::Split": ["-", {"Ref": "A"}]}]})", {{"A", "AMR-042"}}),
              "042");
    EXPECT_EQ(device_value(R"({"Fn::Select": [2, {"Fn::Split": ["::", {"Ref": "A"}]}]})", {{"A", "a::::b"}}),
              "b");
    EXPECT_EQ(device_value(R"({"Fn::Select": [1, {"Fn::Split": [",", {"Ref": "A"}]}]})", {{"A", "a,"}}), "");
    expect_parameter_error(
        [] {
            device_value(R"({"Fn::Select": [3, {"Fn::Split": [",", {"Ref": "List"}]}]})", {{"A", "-"}});
        },
        "/DeviceConfiguration/v: Fn::Select index 3 is out of range for a list of 3 values");
    expect_parameter_error(
        [] {
            device_value(R"({"Fn::Select": [{"Ref": "Index"}, ["a"]]})", {{"A", "-"}, {"Index", "one"}});
        },
        "Fn::Select index 'one' is not a non-negative integer");
}

TEST(ProvisioningTemplate, FnFindInMap) {
    const std::string maps =
        R"({"Region": {"tokyo": {"url": "https://tokyo.example", "zones": ["a", "b", "c"]},
                       "osaka": {"url": "https://osaka.example"}}})";
    EXPECT_EQ(device_value(R"({"Fn::FindInMap": ["Region", {"Ref": "A"}, "url"]})", {{"A", "osaka"}}, maps),
              "https://osaka.example");
    EXPECT_EQ(device_value(R"({"Fn::FindInMap": ["Region", "tokyo", "url"]})", {{"A", "-"}}, maps),
              "https://tokyo.example");
    EXPECT_EQ(device_value(R"({"Fn::Join": ["|", {"Fn::FindInMap": ["Region", {"Ref": "A"}, "zones"]}]})",
                           {{"A", "tokyo"}}, maps),
              "a|b|c");
    expect_parameter_error(
        [&] {
            device_value(R"({"Fn::FindInMap": ["Region", {"Ref": "A"}, "url"]})", {{"A", "nagoya"}}, maps);
        },
        "/DeviceConfiguration/v/Fn::FindInMap/1: mapping 'Region' has no key 'nagoya'");
    // A dynamic key that lands on a list where a string is needed.
    expect_parameter_error(
        [&] {
            device_value(R"({"Fn::FindInMap": ["Region", "tokyo", {"Ref": "A"}]})", {{"A", "zones"}}, maps);
        },
        "evaluates to a list where a string is expected");
    // A literal lookup of a list where a string is needed is caught when parsing.
    expect_template_error(
        with_certificate(
            "", "",
            R"(, "Mappings": )" + maps +
                R"(, "DeviceConfiguration": {"v": {"Fn::FindInMap": ["Region", "tokyo", "zones"]}})"),
        "DeviceConfiguration is a flat map");
}

TEST(ProvisioningTemplate, ThingNameFromAParameterIsValidated) {
    auto t = ProvisioningTemplate::parse(
        with_certificate(
            R"("S": {"Type": "String"})",
            R"("thing": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": {"Fn::Join": ["", ["AMR-", {"Ref": "S"}]]}}})"),
        "t");
    EXPECT_EQ(t.evaluate({{"S", "9"}}, kCertId).thing->name, "AMR-9");
    expect_parameter_error(
        [&] {
            t.evaluate({{"S", "a/b"}}, kCertId);
        },
        "template 't' /Resources/thing/Properties/ThingName: invalid thing name 'AMR-a/b'");
}

TEST(ProvisioningTemplate, CertificateStatusSpellings) {
    const auto status_of = [](const std::string& status_json,
                              const std::map<std::string, std::string>& params = {}) {
        auto t = ProvisioningTemplate::parse(
            R"({"Parameters": {"S": {"Type": "String", "Default": "ACTIVE"}}, "Resources": {"c": {"Type": "AWS::IoT::Certificate",
                "Properties": {"CertificateId": {"Ref": "AWS::IoT::Certificate::Id"})" +
                (status_json.empty() ? "" : ", \"Status\": " + status_json) + "}}}}",
            "t");
        return t.evaluate(params, kCertId).certificate_status;
    };
    EXPECT_EQ(status_of(""), CertStatus::Active);  // AWS: defaults to ACTIVE
    EXPECT_EQ(status_of(R"("ACTIVE")"), CertStatus::Active);
    EXPECT_EQ(status_of(R"("Active")"), CertStatus::Active);
    EXPECT_EQ(status_of(R"("INACTIVE")"), CertStatus::Inactive);
    EXPECT_EQ(status_of(R"("Inactive")"), CertStatus::Inactive);
    EXPECT_EQ(status_of(R"({"Ref": "S"})", {{"S", "INACTIVE"}}), CertStatus::Inactive);
    expect_parameter_error(
        [&] {
            status_of(R"({"Ref": "S"})", {{"S", "REVOKED"}});
        },
        "Status 'REVOKED' must be ACTIVE or INACTIVE");
}

TEST(ProvisioningTemplate, PolicyDocumentsAreNamedByTheirHash) {
    const std::string document =
        R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iot:Publish"],"Resource":["arn:aws:iot:REGION:ACCOUNT_ID:topic/x"]}]})";
    std::string escaped;
    for (char c : document) {
        if (c == '"') escaped += '\\';
        escaped += c;
    }
    auto as_object = ProvisioningTemplate::parse(
        with_certificate(
            "", R"("p": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyDocument": )" + document + "}}"),
        "t");
    auto as_string = ProvisioningTemplate::parse(
        with_certificate(
            "", R"("p": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyDocument": ")" + escaped + "\"}}"),
        "t");
    const auto a = as_object.evaluate({}, kCertId).policies.at(0);
    const auto b = as_string.evaluate({}, kCertId).policies.at(0);
    ASSERT_TRUE(a.document.has_value());
    EXPECT_EQ(*a.document, document);
    EXPECT_EQ(a.name, sha256_hex(document));
    EXPECT_EQ(b.name, a.name);
    EXPECT_EQ(b.document, a.document);
}

TEST(ProvisioningTemplate, PolicyNameFromAParameterIsValidated) {
    auto t = ProvisioningTemplate::parse(
        with_certificate(R"("P": {"Type": "String"})",
                         R"("p": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyName": {"Ref": "P"}}})"),
        "t");
    EXPECT_EQ(t.evaluate({{"P", "device"}}, kCertId).policies.at(0).name, "device");
    expect_parameter_error(
        [&] {
            t.evaluate({{"P", "no/slash"}}, kCertId);
        },
        "/Resources/p/Properties/PolicyName: invalid policy name");
}

TEST(ProvisioningTemplate, OverrideSettingsDefaultToDoNothing) {
    const auto override_of = [](const std::string& settings) {
        auto t = ProvisioningTemplate::parse(
            with_certificate("", R"("t": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": "a",
                                    "AttributePayload": {"k": "v"}})" +
                                     settings + "}"),
            "t");
        return t.evaluate({}, kCertId).thing->attributes_override;
    };
    EXPECT_EQ(override_of(""), OverrideAction::do_nothing);
    EXPECT_EQ(override_of(R"(, "OverrideSettings": {"AttributePayload": "REPLACE"})"),
              OverrideAction::replace);
    EXPECT_EQ(
        override_of(R"(, "OverrideSettings": {"AttributePayload": "MERGE", "ThingGroups": "DO_NOTHING"})"),
        OverrideAction::merge);
    EXPECT_EQ(override_of(R"(, "OverrideSettings": {"AttributePayload": "FAIL"})"), OverrideAction::fail);
}

TEST(ProvisioningTemplate, LoadNamesTheFileInErrors) {
    const auto dir = fs::temp_directory_path() / ("localcore-template-test-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    localcore::write_file_atomic(dir / "broken-template.json", R"({"Resources": {}})");
    try {
        (void)ProvisioningTemplate::load(dir, "broken");
        ADD_FAILURE() << "expected a TemplateError";
    } catch (const TemplateError& e) {
        EXPECT_THAT(e.what(), HasSubstr("template 'broken' /Resources: no AWS::IoT::Certificate"));
        EXPECT_THAT(e.what(), HasSubstr((dir / "broken-template.json").string()));
    }
    fs::remove_all(dir);
}

}  // namespace
