// Which RegisterThing rejections are refusals (retried on the slow refusal backoff) and how a
// rejection reads in the log.
#include "provisioning_messages.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace iotgw::plugins::fleet_provisioning {
namespace {

TEST(RejectionTest, ParsesTheFieldsOfARejectedReply) {
    const Rejection r = parse_rejection(
        R"({"statusCode": 403, "errorCode": "AccessDenied", "errorMessage": "the pre-provisioning hook refused the request (thing_locked): thing AMR-001 is locked"})");
    EXPECT_EQ(r.status_code, "403");
    EXPECT_EQ(r.error_code, "AccessDenied");
    EXPECT_EQ(r.error_message,
              "the pre-provisioning hook refused the request (thing_locked): thing AMR-001 is locked");
}

TEST(RejectionTest, TheHooksRefusalAndAwsAccessDenialsAreRefusals) {
    // localcore's built-in hook
    EXPECT_TRUE(is_refusal(parse_rejection(
        R"({"statusCode": 403, "errorCode": "AccessDenied", "errorMessage": "the pre-provisioning hook refused the request (serial_mismatch): claim certificate is bound to AMR-001, not AMR-002"})")));
    // AWS: a generic access denial, whatever the spelling, with or without the status code
    EXPECT_TRUE(is_refusal(parse_rejection(R"({"statusCode": 403, "errorCode": "ACCESS_DENIED"})")));
    EXPECT_TRUE(
        is_refusal(parse_rejection(R"({"errorCode": "AccessDeniedException", "errorMessage": "x"})")));
    EXPECT_TRUE(is_refusal(parse_rejection(R"({"errorCode": "access_denied"})")));
    EXPECT_TRUE(is_refusal(parse_rejection(R"({"statusCode": "403", "errorCode": "Forbidden"})")));
}

TEST(RejectionTest, OtherRejectionsAreOrdinaryFailures) {
    EXPECT_FALSE(is_refusal(parse_rejection(
        R"({"statusCode": 400, "errorCode": "InvalidCertificateOwnershipToken", "errorMessage": "unknown"})")));
    EXPECT_FALSE(is_refusal(parse_rejection(R"({"statusCode": 400, "errorCode": "InvalidParameters"})")));
    EXPECT_FALSE(is_refusal(parse_rejection(R"({"statusCode": 500, "errorCode": "InternalFailure"})")));
    EXPECT_FALSE(is_refusal(parse_rejection(R"({"statusCode": 429, "errorCode": "Throttling"})")));
    EXPECT_FALSE(is_refusal(parse_rejection("not json, mentions AccessDenied")));
    EXPECT_FALSE(is_refusal(parse_rejection("{}")));
}

TEST(RejectionTest, DescribeKeepsTheReasonSentence) {
    EXPECT_EQ(
        describe_rejection(
            R"({"statusCode": 403, "errorCode": "AccessDenied", "errorMessage": "the pre-provisioning hook refused the request (thing_locked): thing AMR-001 is locked"})"),
        "403 AccessDenied: the pre-provisioning hook refused the request (thing_locked): thing AMR-001 is "
        "locked");
    EXPECT_EQ(describe_rejection("garbage"), "rejected: garbage");
}

// 200,000 unclosed brackets: RapidJSON's recursive parser would overflow the stack long before
// the end (the whole gateway down on one reply); the depth-limited parse stops at level 65.
TEST(ReplyParsingTest, ADeeplyNestedReplyIsRefusedNotACrash) {
    const std::string deep(200000, '[');
    try {
        parse_created_certificate(deep);
        ADD_FAILURE() << "a 200,000-deep reply was accepted";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(
            e.what(),
            "the CreateCertificateFromCsr reply is not a JSON object (nesting deeper than 64 at offset 64)");
    }
    EXPECT_THROW(parse_created_keys(deep), std::runtime_error);
    EXPECT_THROW(parse_registered_thing(deep), std::runtime_error);
    EXPECT_EQ(parse_rejection(deep).error_message, deep.substr(0, 200));
    EXPECT_EQ(reply_client_token(deep), "");
    EXPECT_EQ(describe_rotation_rejection(deep), deep.substr(0, 200));
}

}  // namespace
}  // namespace iotgw::plugins::fleet_provisioning
