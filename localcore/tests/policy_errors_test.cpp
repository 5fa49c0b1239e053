// Every PolicyError, asserted by its exact message: a policy author reads these, so each must name
// the policy, the JSON pointer and what to write instead.
#include "policy.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using localcore::Policy;
using localcore::PolicyError;

std::string error_of(const std::string& json) {
    try {
        Policy::parse(json, "p");
    } catch (const PolicyError& e) {
        return e.what();
    }
    return "(no error)";
}

// A document whose single statement is `statement`.
std::string with(const std::string& statement) {
    return R"({"Version":"2012-10-17","Statement":[)" + statement + "]}";
}

// A statement with the given Condition.
std::string condition(const std::string& cond) {
    return with(R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":)" + cond + "}");
}

std::string resource(const std::string& res) {
    return with(R"({"Effect":"Allow","Action":"iot:Publish","Resource":[")" + res + "\"]}");
}

TEST(PolicyErrors, Document) {
    EXPECT_EQ(error_of("{"), "policy 'p': invalid JSON: Missing a name for object member at offset 1");
    EXPECT_EQ(error_of("[]"), "policy 'p': the document must be a JSON object, not an array");
    EXPECT_EQ(error_of(R"({"Version":"2012-10-17","Statement":[],"Foo":1})"),
              "policy 'p': /Foo: unknown field (expected Version, Statement and Id)");
    EXPECT_EQ(error_of(R"({"Statement":[]})"),
              "policy 'p': /Version: missing; AWS IoT requires \"2012-10-17\"");
    EXPECT_EQ(error_of(R"({"Version":"2008-10-17","Statement":[]})"),
              "policy 'p': /Version: must be \"2012-10-17\" (the only version AWS IoT accepts)");
    EXPECT_EQ(error_of(R"({"Version":"2012-10-17","Id":1,"Statement":[]})"),
              "policy 'p': /Id: must be a string");
    EXPECT_EQ(error_of(R"({"Version":"2012-10-17"})"), "policy 'p': /Statement: missing");
    EXPECT_EQ(error_of(R"({"Version":"2012-10-17","Statement":[]})"),
              "policy 'p': /Statement: must be an object or a non-empty array of objects");
    EXPECT_EQ(error_of(R"({"Version":"2012-10-17","Version":"2012-10-17","Statement":[]})"),
              "policy 'p': /Version: duplicate key");
    EXPECT_EQ(error_of(with("\"x\"")),
              "policy 'p': /Statement/0: a statement must be an object, not a string");
}

// The rest of the document around the topic is 132 characters: a 1916-character topic reaches the
// 2048 limit exactly, and whitespace does not count.
TEST(PolicyErrors, TooLongForAws) {
    const std::string arn = "arn:aws:iot:REGION:ACCOUNT_ID:topic/";
    EXPECT_EQ(error_of(resource(arn + std::string(1916, 'a')) + std::string(500, ' ')), "(no error)");
    EXPECT_EQ(
        error_of(resource(arn + std::string(2100, 'a'))),
        "policy 'p': the document has 2232 characters excluding whitespace; AWS IoT allows at most 2048");
}

TEST(PolicyErrors, StatementFields) {
    EXPECT_EQ(
        error_of(with(R"({"Effect":"Allow","NotAction":"iot:Connect","Resource":"*"})")),
        "policy 'p': /Statement/0/NotAction: not supported by localcore (write the policy with Action)");
    EXPECT_EQ(
        error_of(with(R"({"Effect":"Allow","Action":"iot:Connect","NotResource":"*"})")),
        "policy 'p': /Statement/0/NotResource: not supported by localcore (write the policy with Resource)");
    EXPECT_EQ(error_of(with(R"({"Effect":"Allow","Principal":"*","Action":"iot:Connect","Resource":"*"})")),
              "policy 'p': /Statement/0/Principal: not allowed in an AWS IoT policy (the principal is "
              "the certificate the policy is attached to)");
    EXPECT_EQ(error_of(with(R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Extra/x~":1})")),
              "policy 'p': /Statement/0/Extra~1x~0: unknown field (expected Sid, Effect, Action, Resource "
              "and Condition)");
    EXPECT_EQ(error_of(with(R"({"Sid":2,"Effect":"Allow","Action":"iot:Connect","Resource":"*"})")),
              "policy 'p': /Statement/0/Sid: must be a string");
    EXPECT_EQ(error_of(with(R"({"Action":"iot:Connect","Resource":"*"})")),
              "policy 'p': /Statement/0: missing \"Effect\" (\"Allow\" or \"Deny\")");
    EXPECT_EQ(error_of(with(R"({"Effect":"allow","Action":"iot:Connect","Resource":"*"})")),
              "policy 'p': /Statement/0/Effect: must be \"Allow\" or \"Deny\"");
    EXPECT_EQ(error_of(with(R"({"Effect":"Allow","Resource":"*"})")),
              "policy 'p': /Statement/0: missing \"Action\"");
    EXPECT_EQ(error_of(with(R"({"Effect":"Allow","Action":"iot:Connect"})")),
              "policy 'p': /Statement/0: missing \"Resource\"");
}

TEST(PolicyErrors, Actions) {
    EXPECT_EQ(error_of(with(R"({"Effect":"Allow","Action":[],"Resource":"*"})")),
              "policy 'p': /Statement/0/Action: must be a string or a non-empty array of strings, not an "
              "empty array");
    EXPECT_EQ(error_of(with(R"({"Effect":"Allow","Action":["iot:Connect",3],"Resource":"*"})")),
              "policy 'p': /Statement/0/Action/1: must be a string, not a number");
    EXPECT_EQ(
        error_of(with(R"({"Effect":"Allow","Action":{},"Resource":"*"})")),
        "policy 'p': /Statement/0/Action: must be a string or a non-empty array of strings, not an object");
    EXPECT_EQ(error_of(with(R"({"Effect":"Allow","Action":["iot:Connect","iot:Conect"],"Resource":"*"})")),
              "policy 'p': /Statement/0/Action/1: unknown action 'iot:Conect' (localcore knows iot:Connect, "
              "iot:Publish, iot:Subscribe, iot:Receive, iot:RetainPublish, iot:* and the shadow / "
              "retained message HTTP actions)");
}

TEST(PolicyErrors, Resources) {
    EXPECT_EQ(error_of(resource("topic/a")),
              "policy 'p': /Statement/0/Resource/0: resource 'topic/a' is neither '*' nor an AWS IoT ARN "
              "(arn:aws:iot:REGION:ACCOUNT_ID:...)");
    EXPECT_EQ(error_of(resource("arn:aws:iot:REGION:topic/a")),
              "policy 'p': /Statement/0/Resource/0: resource 'arn:aws:iot:REGION:topic/a' is not a "
              "complete ARN (arn:aws:iot:REGION:ACCOUNT_ID:<type>/<name>)");
    EXPECT_EQ(error_of(resource("arn:aws:iot:REGION:ACCOUNT_ID:topics/a")),
              "policy 'p': /Statement/0/Resource/0: resource 'arn:aws:iot:REGION:ACCOUNT_ID:topics/a' has "
              "resource type 'topics'; localcore knows client, topic, topicfilter and thing");
    EXPECT_EQ(error_of(resource("arn:aws:iot:REGION:ACCOUNT_ID:topic")),
              "policy 'p': /Statement/0/Resource/0: resource 'arn:aws:iot:REGION:ACCOUNT_ID:topic' has "
              "no name after 'topic' (expected topic/<name>)");
    EXPECT_EQ(error_of(resource("arn:aws:iot:REGION:ACCOUNT_ID:topic/${iot:Connection.Thing.ThingTypeName}")),
              "policy 'p': /Statement/0/Resource/0: unsupported policy variable "
              "'${iot:Connection.Thing.ThingTypeName}'; localcore supports ${iot:ClientId}, "
              "${iot:Connection.Thing.ThingName}, ${iot:Connection.Thing.IsAttached} and "
              "${iot:Certificate.Subject.<Field>}");
    EXPECT_EQ(error_of(resource("arn:aws:iot:REGION:ACCOUNT_ID:topic/${iot:Certificate.Subject.Nickname}")),
              "policy 'p': /Statement/0/Resource/0: unsupported policy variable "
              "'${iot:Certificate.Subject.Nickname}'; localcore supports ${iot:ClientId}, "
              "${iot:Connection.Thing.ThingName}, ${iot:Connection.Thing.IsAttached} and "
              "${iot:Certificate.Subject.<Field>}");
    EXPECT_EQ(error_of(resource("arn:aws:iot:REGION:ACCOUNT_ID:topic/${iot:ClientId")),
              "policy 'p': /Statement/0/Resource/0: unterminated policy variable in 'topic/${iot:ClientId' "
              "(missing '}')");
}

TEST(PolicyErrors, Conditions) {
    EXPECT_EQ(error_of(condition("[]")),
              "policy 'p': /Statement/0/Condition: must be an object, not an array");
    EXPECT_EQ(error_of(condition(R"({"StringNotEquals":{"iot:ClientId":"a"}})")),
              "policy 'p': /Statement/0/Condition/StringNotEquals: unsupported condition operator "
              "'StringNotEquals' (localcore supports Bool, StringEquals and StringLike)");
    EXPECT_EQ(error_of(condition(R"({"StringEqualsIfExists":{"iot:ClientId":"a"}})")),
              "policy 'p': /Statement/0/Condition/StringEqualsIfExists: unsupported condition operator "
              "'StringEqualsIfExists' (localcore supports Bool, StringEquals and StringLike)");
    EXPECT_EQ(
        error_of(condition(R"({"StringLike":"a"})")),
        "policy 'p': /Statement/0/Condition/StringLike: must be an object of condition keys, not a string");
    EXPECT_EQ(error_of(condition(R"({"StringLike":{"aws:SourceIp":"10.*"}})")),
              "policy 'p': /Statement/0/Condition/StringLike/aws:SourceIp: unsupported condition key "
              "'aws:SourceIp' (localcore supports iot:ClientId, iot:Connection.Thing.ThingName, "
              "iot:Connection.Thing.IsAttached and iot:Certificate.Subject.<Field>)");
    EXPECT_EQ(error_of(condition(R"({"Bool":{"iot:ClientId":"true"}})")),
              "policy 'p': /Statement/0/Condition/Bool/iot:ClientId: Bool applies only to "
              "iot:Connection.Thing.IsAttached");
    EXPECT_EQ(error_of(condition(R"({"Bool":{"iot:Connection.Thing.IsAttached":["true","yes"]}})")),
              "policy 'p': /Statement/0/Condition/Bool/iot:Connection.Thing.IsAttached/1: must be "
              "\"true\" or \"false\"");
    EXPECT_EQ(error_of(condition(R"({"Bool":{"iot:Connection.Thing.IsAttached":[]}})")),
              "policy 'p': /Statement/0/Condition/Bool/iot:Connection.Thing.IsAttached: must be \"true\", "
              "\"false\" or a non-empty array of them");
    EXPECT_EQ(error_of(condition(R"({"StringEquals":{"iot:ClientId":true}})")),
              "policy 'p': /Statement/0/Condition/StringEquals/iot:ClientId: must be a string or a "
              "non-empty array of strings, not a boolean");
    EXPECT_EQ(error_of(condition(R"({"StringEquals":{"iot:ClientId":"${aws:username}"}})")),
              "policy 'p': /Statement/0/Condition/StringEquals/iot:ClientId: unsupported policy variable "
              "'${aws:username}'; localcore supports ${iot:ClientId}, ${iot:Connection.Thing.ThingName}, "
              "${iot:Connection.Thing.IsAttached} and ${iot:Certificate.Subject.<Field>}");
    EXPECT_EQ(error_of(condition(R"({"StringEquals":{"iot:ClientId":"a","iot:ClientId":"b"}})")),
              "policy 'p': /Statement/0/Condition/StringEquals/iot:ClientId: duplicate key");
}

TEST(PolicyErrors, MissingFile) {
    try {
        Policy::load_file("/nonexistent/dir/x.json");
        FAIL() << "no error";
    } catch (const PolicyError& e) {
        EXPECT_STREQ(e.what(),
                     "cannot read policy file '/nonexistent/dir/x.json': No such file or directory");
    }
}

}  // namespace
