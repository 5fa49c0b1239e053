// Allow / deny matrix of cloud/policies/console.json (the IoT policy the AWS deployment attaches to
// the console's Cognito identities) and of the controls the seed's tables demand of all three
// documents, evaluated by localcore's policy evaluator. policy_evaluator_test.cpp covers the
// device and claim basics; this file adds the console and the cross-document checks that the
// cloud/ CDK tests cannot make (they only see JSON, not its evaluation).
#include "policy_documents.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

// In the helpers' namespace, inside localcore: the evaluator and the helpers need no using.
namespace localcore::policy_test {
namespace {

// A browser console: no thing, a client id console-<Cognito identity id>-<tab> as the AWS role
// requires (cloud/lib/policy-files.ts).
RequestContext console_ctx() {
    RequestContext ctx;
    ctx.client_id = "console-ap-northeast-1:11111111-2222-3333-4444-555555555555-tab1";
    return ctx;
}

TEST(CloudPolicyConsoleMatrix, ConnectOnlyWithConsolePrefix) {
    const PolicySet set = load("console.json");
    EXPECT_TRUE(allows(set, Action::connect, console_ctx().client_id, console_ctx()));
    for (const char* id : {"AMR-001", "claim-AMR-001", "console", "xconsole-1", ""}) {
        RequestContext ctx = console_ctx();
        ctx.client_id = id;
        EXPECT_FALSE(allows(set, Action::connect, id, ctx)) << id;
    }
}

TEST(CloudPolicyConsoleMatrix, ObservesStatusHeartbeatShadowAndPresence) {
    const PolicySet set = load("console.json");
    for (const char* filter :
         {"amr/AMR-001/status", "amr/AMR-001/heartbeat", "amr/AMR-001/cmd/result", "amr/+/status",
          "$aws/events/presence/connected/AMR-001", "$aws/events/presence/+/AMR-001",
          "$aws/things/AMR-001/shadow/name/robot/get/accepted",
          "$aws/things/AMR-001/shadow/name/robot/update/documents"}) {
        EXPECT_TRUE(allows(set, Action::subscribe, filter, console_ctx())) << filter;
    }
    for (const char* topic :
         {"amr/AMR-001/status", "amr/AMR-002/heartbeat", "$aws/events/presence/disconnected/AMR-001",
          "$aws/things/AMR-001/shadow/name/robot/get/accepted"}) {
        EXPECT_TRUE(allows(set, Action::receive, topic, console_ctx())) << topic;
    }
}

TEST(CloudPolicyConsoleMatrix, PublishesOnlyCallsAndShadowGets) {
    const PolicySet set = load("console.json");
    EXPECT_TRUE(allows(set, Action::publish, "amr/AMR-001/cmd/call", console_ctx()));
    EXPECT_TRUE(allows(set, Action::publish, "$aws/things/AMR-001/shadow/name/robot/get", console_ctx()));
    // No forged device traffic, no shadow writes, no rotation reports, no provisioning, no retain.
    for (const char* topic :
         {"amr/AMR-001/status", "amr/AMR-001/heartbeat", "amr/AMR-001/cmd/result",
          "amr/AMR-001/certificate/rotated", "$aws/things/AMR-001/shadow/name/robot/update",
          "$aws/things/AMR-001/shadow/name/robot/delete", "$aws/things/AMR-001/shadow/update",
          "$aws/certificates/create-from-csr/json", "$aws/provisioning-templates/amr/provision/json",
          "$aws/events/presence/connected/AMR-001"}) {
        EXPECT_FALSE(allows(set, Action::publish, topic, console_ctx())) << topic;
    }
    EXPECT_FALSE(allows(set, Action::retain_publish, "amr/AMR-001/cmd/call", console_ctx()));
}

// docs/watched-heartbeat.md: a console keeps an AMR's heartbeat fast with one retained message per
// AMR on amr/<thing>/watch (retained, so a restarted gateway finds it at once). That topic is the
// only one a console may retain on; it still may not subscribe to or forge anything else.
TEST(CloudPolicyConsoleMatrix, RetainsOnlyTheWatchMessage) {
    const PolicySet set = load("console.json");
    for (const char* topic : {"amr/AMR-001/watch", "amr/AMR-002/watch"}) {
        EXPECT_TRUE(allows(set, Action::publish, topic, console_ctx())) << topic;
        EXPECT_TRUE(allows(set, Action::retain_publish, topic, console_ctx())) << topic;
    }
    for (const char* topic :
         {"amr/AMR-001/cmd/call", "amr/AMR-001/status", "amr/AMR-001/heartbeat", "amr/AMR-001/watch/x",
          "amr/AMR-001/watchers", "amr/AMR-001", "watch", "$aws/things/AMR-001/shadow/name/robot/get"}) {
        EXPECT_FALSE(allows(set, Action::retain_publish, topic, console_ctx())) << topic;
    }
    for (const char* topic : {"amr/AMR-001/watch/x", "amr/AMR-001/watchers"})
        EXPECT_FALSE(allows(set, Action::publish, topic, console_ctx())) << topic;
}

// In AWS IoT policies `*` matches '/' too, so `amr/*/watch` alone would also allow
// amr/AMR-001/x/watch, amr/AMR-001/status/watch, ...: any number of retained topics, each kept by the
// broker for as long as its expiry says (or for ever without one). console.json denies every topic
// with more than one level between amr/ and /watch; a thing name has no '/', so no AMR's own watch
// topic is among them.
TEST(CloudPolicyConsoleMatrix, RetainsNoWatchTopicDeeperThanOneThing) {
    const PolicySet set = load("console.json");
    for (const char* topic : {"amr/AMR-001/x/watch", "amr/AMR-001/status/watch", "amr/AMR-001/x/y/watch",
                              "amr//x/watch", "amr/AMR-001/watch/watch"}) {
        EXPECT_FALSE(allows(set, Action::publish, topic, console_ctx())) << topic;
        EXPECT_FALSE(allows(set, Action::retain_publish, topic, console_ctx())) << topic;
    }
    EXPECT_TRUE(allows(set, Action::retain_publish, "amr/AMR-001/watch", console_ctx()));
}

TEST(CloudPolicyConsoleMatrix, NoProvisioningRepliesOrOtherShadows) {
    const PolicySet set = load("console.json");
    for (const char* filter :
         {"#", "$aws/#", "$aws/certificates/create-from-csr/json/accepted",
          "$aws/provisioning-templates/amr/provision/json/accepted",
          "$aws/things/AMR-001/shadow/update/accepted", "$aws/things/AMR-001/shadow/name/other/get/accepted",
          "$aws/events/subscriptions/subscribed/AMR-001"}) {
        EXPECT_FALSE(allows(set, Action::subscribe, filter, console_ctx())) << filter;
        EXPECT_FALSE(allows(set, Action::receive, filter, console_ctx())) << filter;
    }
}

// Seed appendix C allowed Connect on `*` and subscribe on `$aws/*`; the deployed claim policy must not.
TEST(CloudPolicyClaimTightened, NoneOfTheSeedsWideGrants) {
    const PolicySet set = load("claim.json");
    RequestContext ctx;
    ctx.client_id = "AMR-001";
    EXPECT_FALSE(allows(set, Action::connect, "AMR-001", ctx));
    EXPECT_FALSE(allows(set, Action::connect, "console-x", ctx));
    ctx.client_id = "claim-AMR-001";
    for (const char* filter : {"$aws/things/AMR-001/shadow/name/robot/get/accepted", "$aws/events/presence/#",
                               "$aws/certificates/create/json/accepted", "$aws/rules/x"}) {
        EXPECT_FALSE(allows(set, Action::subscribe, filter, ctx)) << filter;
    }
    EXPECT_FALSE(allows(set, Action::publish, "amr/AMR-001/certificate/rotated", ctx));
}

// The rotation report is the device's own topic: the AWS rule trusts topic(2) for that reason.
TEST(CloudPolicyDeviceRotation, ReportsOnlyItsOwnRotation) {
    const PolicySet set = load("device.json");
    RequestContext ctx;
    ctx.client_id = "AMR-001";
    ctx.thing_name = "AMR-001";
    ctx.thing_attached = true;
    EXPECT_TRUE(allows(set, Action::publish, "amr/AMR-001/certificate/rotated", ctx));
    EXPECT_TRUE(allows(set, Action::subscribe, "amr/AMR-001/certificate/rotated/+", ctx));
    EXPECT_TRUE(allows(set, Action::receive, "amr/AMR-001/certificate/rotated/accepted", ctx));
    EXPECT_FALSE(allows(set, Action::publish, "amr/AMR-002/certificate/rotated", ctx));
    EXPECT_FALSE(allows(set, Action::subscribe, "amr/+/certificate/rotated/+", ctx));
    EXPECT_FALSE(allows(set, Action::receive, "amr/AMR-002/certificate/rotated/accepted", ctx));
    // A console connection (no thing) gets nothing from the device policy.
    const RequestContext browser = console_ctx();
    EXPECT_FALSE(allows(set, Action::connect, browser.client_id, browser));
    EXPECT_FALSE(allows(set, Action::publish, "amr/AMR-001/certificate/rotated", browser));
}

}  // namespace
}  // namespace localcore::policy_test
