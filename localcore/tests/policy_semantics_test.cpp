// Evaluation rules on small inline policies: Deny over Allow, wildcards, variables, conditions,
// placeholders and action names, each as AWS IoT Core applies them.
#include "policy.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using localcore::Action;
using localcore::Policy;
using localcore::PolicySet;
using localcore::RequestContext;

std::string doc(const std::string& statements) {
    return R"({"Version":"2012-10-17","Statement":[)" + statements + "]}";
}

std::string allow(const std::string& action, const std::string& resource, const std::string& condition = "") {
    return R"({"Effect":"Allow","Action":")" + action + R"(","Resource":")" + resource + "\"" +
           (condition.empty() ? "" : ",\"Condition\":" + condition) + "}";
}

std::string deny(const std::string& action, const std::string& resource) {
    return R"({"Effect":"Deny","Action":")" + action + R"(","Resource":")" + resource + "\"}";
}

PolicySet set_of(const std::string& statements) {
    PolicySet set;
    set.add(Policy::parse(doc(statements), "p"));
    return set;
}

constexpr const char* kTopic = "arn:aws:iot:REGION:ACCOUNT_ID:topic/";

RequestContext thing(const std::string& name) {
    RequestContext ctx;
    ctx.client_id = name;
    ctx.thing_name = name;
    ctx.thing_attached = true;
    ctx.certificate_subject = {{"CommonName", name}};
    return ctx;
}

TEST(PolicySemantics, DefaultDeny) {
    const PolicySet set = set_of(allow("iot:Publish", std::string(kTopic) + "a"));
    const auto d = set.evaluate(Action::publish, "b", thing("t"));
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.reason, "no statement allows iot:Publish on arn:aws:iot:ap-northeast-1:123456789012:topic/b");
    EXPECT_FALSE(PolicySet{}.evaluate(Action::connect, "t", thing("t")).allowed);
}

TEST(PolicySemantics, DenyBeatsAllowWithinAndAcrossPolicies) {
    const PolicySet one = set_of(allow("iot:Publish", std::string(kTopic) + "a/*") + "," +
                                 deny("iot:Publish", std::string(kTopic) + "a/secret"));
    EXPECT_TRUE(one.evaluate(Action::publish, "a/open", thing("t")).allowed);
    const auto denied = one.evaluate(Action::publish, "a/secret", thing("t"));
    EXPECT_FALSE(denied.allowed);
    EXPECT_EQ(denied.reason,
              "policy 'p' /Statement/1 denies iot:Publish on "
              "arn:aws:iot:ap-northeast-1:123456789012:topic/a/secret");

    PolicySet two;
    two.add(Policy::parse(doc(allow("iot:*", "*")), "everything"));
    two.add(Policy::parse(doc(deny("iot:Subscribe", "*")), "no-subscribe"));
    EXPECT_TRUE(two.evaluate(Action::publish, "x", thing("t")).allowed);
    EXPECT_FALSE(two.evaluate(Action::subscribe, "x", thing("t")).allowed);
}

TEST(PolicySemantics, AllowReasonNamesSid) {
    const PolicySet set = set_of(R"({"Sid":"pub","Effect":"Allow","Action":"iot:Publish","Resource":"*"})");
    EXPECT_EQ(set.evaluate(Action::publish, "x", thing("t")).reason,
              "policy 'p' /Statement/0 (Sid \"pub\") allows iot:Publish on "
              "arn:aws:iot:ap-northeast-1:123456789012:topic/x");
}

TEST(PolicySemantics, QuestionMarkIsExactlyOneCharacter) {
    const PolicySet set = set_of(allow("iot:Publish", std::string(kTopic) + "amr/AMR-00?/status"));
    EXPECT_TRUE(set.evaluate(Action::publish, "amr/AMR-001/status", thing("t")).allowed);
    EXPECT_TRUE(set.evaluate(Action::publish, "amr/AMR-00//status", thing("t")).allowed);
    EXPECT_FALSE(set.evaluate(Action::publish, "amr/AMR-00/status", thing("t")).allowed);
    EXPECT_FALSE(set.evaluate(Action::publish, "amr/AMR-0010/status", thing("t")).allowed);
}

TEST(PolicySemantics, StarSpansLevelsAndMqttWildcardsAreLiteral) {
    const PolicySet set =
        set_of(allow("iot:Subscribe", "arn:aws:iot:REGION:ACCOUNT_ID:topicfilter/a/*/z") + "," +
               allow("iot:Subscribe", "arn:aws:iot:REGION:ACCOUNT_ID:topicfilter/b/+"));
    EXPECT_TRUE(set.evaluate(Action::subscribe, "a/1/2/3/z", thing("t")).allowed);
    EXPECT_TRUE(set.evaluate(Action::subscribe, "a/+/z", thing("t")).allowed);
    EXPECT_FALSE(set.evaluate(Action::subscribe, "a/#", thing("t")).allowed);
    EXPECT_TRUE(set.evaluate(Action::subscribe, "b/+", thing("t")).allowed);
    EXPECT_FALSE(set.evaluate(Action::subscribe, "b/x", thing("t")).allowed);  // '+' is no wildcard
}

TEST(PolicySemantics, ResourceTypeMustFitTheAction) {
    const PolicySet set = set_of(allow("iot:*", std::string(kTopic) + "x"));
    EXPECT_TRUE(set.evaluate(Action::publish, "x", thing("t")).allowed);
    EXPECT_TRUE(set.evaluate(Action::receive, "x", thing("t")).allowed);
    EXPECT_TRUE(set.evaluate(Action::retain_publish, "x", thing("t")).allowed);
    EXPECT_FALSE(set.evaluate(Action::subscribe, "x", thing("t")).allowed);  // topicfilter/x
    EXPECT_FALSE(set.evaluate(Action::connect, "x", thing("t")).allowed);    // client/x
}

TEST(PolicySemantics, ActionNamesAreCaseInsensitiveAndMayUseWildcards) {
    const PolicySet set = set_of(allow("IOT:publish", "*") + "," + allow("iot:Re*", "*"));
    EXPECT_TRUE(set.evaluate(Action::publish, "x", thing("t")).allowed);
    EXPECT_TRUE(set.evaluate(Action::receive, "x", thing("t")).allowed);
    EXPECT_TRUE(set.evaluate(Action::retain_publish, "x", thing("t")).allowed);
    EXPECT_FALSE(set.evaluate(Action::subscribe, "x", thing("t")).allowed);
}

TEST(PolicySemantics, HttpActionsAreValidButGrantNoMqtt) {
    const PolicySet set = set_of(allow("iot:GetThingShadow", "*"));
    EXPECT_FALSE(set.evaluate(Action::publish, "$aws/things/t/shadow/get", thing("t")).allowed);
}

TEST(PolicySemantics, RegionAndAccountPlaceholdersTakeTheContext) {
    const PolicySet set = set_of(allow("iot:Publish", std::string(kTopic) + "x") + "," +
                                 allow("iot:Publish", "arn:aws:iot:ap-northeast-1:123456789012:topic/fixed"));
    RequestContext ctx = thing("t");
    EXPECT_TRUE(set.evaluate(Action::publish, "fixed", ctx).allowed);
    ctx.region = "eu-west-1";
    ctx.account_id = "999999999999";
    EXPECT_TRUE(set.evaluate(Action::publish, "x", ctx).allowed);
    EXPECT_FALSE(set.evaluate(Action::publish, "fixed", ctx).allowed);
}

TEST(PolicySemantics, UnresolvableVariableMatchesNothing) {
    const PolicySet set =
        set_of(allow("iot:Publish", std::string(kTopic) + "amr/${iot:Connection.Thing.ThingName}/*") + "," +
               allow("iot:Publish", std::string(kTopic) + "cert/${iot:Certificate.Subject.Organization}"));
    RequestContext ctx = thing("AMR-001");
    EXPECT_TRUE(set.evaluate(Action::publish, "amr/AMR-001/status", ctx).allowed);
    ctx.thing_name.reset();
    EXPECT_FALSE(set.evaluate(Action::publish, "amr/AMR-001/status", ctx).allowed);
    EXPECT_FALSE(set.evaluate(Action::publish, "amr//status", ctx).allowed);
    EXPECT_FALSE(set.evaluate(Action::publish, "cert/", ctx).allowed);  // no Organization field
}

TEST(PolicySemantics, UnresolvableVariableInDenyDoesNotApply) {
    const PolicySet set =
        set_of(allow("iot:Publish", "*") + "," +
               deny("iot:Publish", std::string(kTopic) + "${iot:Connection.Thing.ThingName}/*"));
    RequestContext ctx = thing("t");
    EXPECT_FALSE(set.evaluate(Action::publish, "t/x", ctx).allowed);
    ctx.thing_name.reset();
    EXPECT_TRUE(set.evaluate(Action::publish, "t/x", ctx).allowed);
}

TEST(PolicySemantics, CertificateValueWithWildcardCharacterIsNotSubstituted) {
    const PolicySet set =
        set_of(allow("iot:Publish", std::string(kTopic) + "dev/${iot:Certificate.Subject.CommonName}/*"));
    EXPECT_TRUE(set.evaluate(Action::publish, "dev/ab/x", thing("ab")).allowed);
    for (const char* cn : {"a+b", "a#b", "a*b", "a?b", "a$b"}) {
        RequestContext ctx = thing("t");
        ctx.certificate_subject["CommonName"] = cn;
        EXPECT_FALSE(set.evaluate(Action::publish, std::string("dev/") + cn + "/x", ctx).allowed) << cn;
    }
}

// AWS substitutes the client id as is and warns that a client id of `+` widens topic filters; the
// substituted text is still literal for the policy matcher ('*' in a client id is no wildcard).
TEST(PolicySemantics, ClientIdIsSubstitutedLiterally) {
    const PolicySet set =
        set_of(allow("iot:Subscribe", "arn:aws:iot:REGION:ACCOUNT_ID:topicfilter/${iot:ClientId}/status") +
               "," + allow("iot:Publish", std::string(kTopic) + "${iot:ClientId}/status"));
    RequestContext ctx;
    ctx.client_id = "+";
    EXPECT_TRUE(set.evaluate(Action::subscribe, "+/status", ctx).allowed);
    ctx.client_id = "*";
    EXPECT_TRUE(set.evaluate(Action::publish, "*/status", ctx).allowed);
    EXPECT_FALSE(set.evaluate(Action::publish, "other/status", ctx).allowed);
    ctx.client_id = "?";
    EXPECT_FALSE(set.evaluate(Action::publish, "x/status", ctx).allowed);
}

TEST(PolicySemantics, BoolIsAttachedCondition) {
    const PolicySet set =
        set_of(allow("iot:Connect", "*", R"({"Bool":{"iot:Connection.Thing.IsAttached":["true"]}})") + "," +
               allow("iot:Publish", "*", R"({"Bool":{"iot:Connection.Thing.IsAttached":false}})"));
    RequestContext ctx = thing("t");
    EXPECT_TRUE(set.evaluate(Action::connect, "t", ctx).allowed);
    EXPECT_FALSE(set.evaluate(Action::publish, "x", ctx).allowed);
    ctx.thing_attached = false;
    EXPECT_FALSE(set.evaluate(Action::connect, "t", ctx).allowed);
    EXPECT_TRUE(set.evaluate(Action::publish, "x", ctx).allowed);
}

TEST(PolicySemantics, StringEqualsWithVariableValue) {
    const PolicySet set = set_of(allow(
        "iot:Connect", "*", R"({"StringEquals":{"iot:ClientId":"${iot:Connection.Thing.ThingName}"}})"));
    RequestContext ctx = thing("AMR-001");
    EXPECT_TRUE(set.evaluate(Action::connect, "AMR-001", ctx).allowed);
    ctx.client_id = "AMR-002";
    EXPECT_FALSE(set.evaluate(Action::connect, "AMR-002", ctx).allowed);
    ctx.thing_name.reset();  // unresolvable value: no match
    EXPECT_FALSE(set.evaluate(Action::connect, "AMR-002", ctx).allowed);
}

TEST(PolicySemantics, StringEqualsTakesWildcardsLiterally) {
    const PolicySet set = set_of(allow("iot:Connect", "*", R"({"StringEquals":{"iot:ClientId":"a*"}})"));
    RequestContext ctx;
    ctx.client_id = "a*";
    EXPECT_TRUE(set.evaluate(Action::connect, "a*", ctx).allowed);
    ctx.client_id = "ab";
    EXPECT_FALSE(set.evaluate(Action::connect, "ab", ctx).allowed);
}

TEST(PolicySemantics, StringLikeValuesAreAlternativesKeysAndOperatorsAllMustHold) {
    const PolicySet set =
        set_of(allow("iot:Connect", "*",
                     R"({"StringLike":{"iot:Certificate.Subject.CommonName":["AMR-*","robot-?"],)"
                     R"("iot:ClientId":"*"},"Bool":{"iot:Connection.Thing.IsAttached":"true"}})"));
    EXPECT_TRUE(set.evaluate(Action::connect, "AMR-7", thing("AMR-7")).allowed);
    EXPECT_TRUE(set.evaluate(Action::connect, "robot-1", thing("robot-1")).allowed);
    EXPECT_FALSE(set.evaluate(Action::connect, "robot-12", thing("robot-12")).allowed);
    RequestContext detached = thing("AMR-7");
    detached.thing_attached = false;
    EXPECT_FALSE(set.evaluate(Action::connect, "AMR-7", detached).allowed);
    RequestContext no_cn = thing("AMR-7");
    no_cn.certificate_subject.clear();  // absent key: the condition fails
    EXPECT_FALSE(set.evaluate(Action::connect, "AMR-7", no_cn).allowed);
}

TEST(PolicySemantics, SingleStatementObjectAndResourceArray) {
    PolicySet set;
    set.add(Policy::parse(
        R"({"Version":"2012-10-17","Id":"x","Statement":{"Effect":"Allow",)"
        R"("Action":["iot:Publish"],"Resource":["arn:aws:iot:*:*:topic/a","arn:aws:iot:*:*:topic/b"]}})",
        "single"));
    EXPECT_TRUE(set.evaluate(Action::publish, "b", thing("t")).allowed);
    EXPECT_EQ(
        set.evaluate(Action::publish, "a", thing("t")).reason,
        "policy 'single' /Statement allows iot:Publish on arn:aws:iot:ap-northeast-1:123456789012:topic/a");
}

TEST(PolicyWildcardMatch, Cases) {
    using localcore::detail::wildcard_match;
    EXPECT_TRUE(wildcard_match("", ""));
    EXPECT_TRUE(wildcard_match("*", ""));
    EXPECT_TRUE(wildcard_match("a*b*c", "aXbYbZc"));
    EXPECT_FALSE(wildcard_match("a*b*c", "aXbYbZ"));
    EXPECT_TRUE(wildcard_match("*a", "aaa"));
    EXPECT_FALSE(wildcard_match("?", ""));
    EXPECT_TRUE(wildcard_match("\\*", "*"));
    EXPECT_FALSE(wildcard_match("\\*", "x"));
    EXPECT_TRUE(wildcard_match("\\\\", "\\"));
    EXPECT_FALSE(wildcard_match("abc", "ABC"));  // topics are case-sensitive
    // Backtracking stays linear: this would explode with naive recursion.
    EXPECT_FALSE(wildcard_match(std::string(30, '*') + "b", std::string(10000, 'a')));
}

TEST(PolicyLoadFile, NameIsTheFileStem) {
    const Policy p = Policy::load_file(std::filesystem::path(LOCALCORE_POLICY_DIR) / "device.json");
    EXPECT_EQ(p.name(), "device");
    EXPECT_EQ(p.statements().size(), 3U);
}

}  // namespace
