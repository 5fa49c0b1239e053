// Allow / deny matrix over the real cloud/policies documents: the files the AWS deployment attaches
// must give AMR-001 exactly its own topics and the claim certificate exactly the provisioning API.
#include "policy_documents.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

// In the helpers' namespace, inside localcore: the evaluator and the helpers need no using.
namespace localcore::policy_test {
namespace {

// AMR-001 connecting with its production certificate, thing attached, client id = thing name.
RequestContext amr001() {
    RequestContext ctx;
    ctx.client_id = "AMR-001";
    ctx.thing_name = "AMR-001";
    ctx.thing_attached = true;
    ctx.certificate_subject = {{"CommonName", "AMR-001"}};
    return ctx;
}

// AMR-001's per-device claim certificate (subject CN = the thing name) on its claim client id.
RequestContext claim() {
    RequestContext ctx;
    ctx.client_id = "claim-AMR-001";
    ctx.certificate_subject = {{"CommonName", "AMR-001"}};
    return ctx;
}

TEST(PolicyDeviceMatrix, ConnectOnlyAsItsOwnThingWhileAttached) {
    const PolicySet device = load("device.json");
    EXPECT_TRUE(allows(device, Action::connect, "AMR-001", amr001()));

    RequestContext detached = amr001();
    detached.thing_attached = false;
    detached.thing_name.reset();
    EXPECT_FALSE(allows(device, Action::connect, "AMR-001", detached));

    // Non-exclusive association: another client id leaves ThingName unresolved.
    RequestContext other_id = amr001();
    other_id.client_id = "AMR-002";
    other_id.thing_name.reset();
    EXPECT_FALSE(allows(device, Action::connect, "AMR-002", other_id));
    other_id.client_id = "gateway";
    EXPECT_FALSE(allows(device, Action::connect, "gateway", other_id));

    // Even with the thing resolved (exclusive association), the client id must be the thing name.
    EXPECT_FALSE(allows(device, Action::connect, "AMR-002", amr001()));
    EXPECT_FALSE(allows(device, Action::connect, "AMR-001x", amr001()));
}

TEST(PolicyDeviceMatrix, OwnTopicsAllowed) {
    const PolicySet device = load("device.json");
    for (const char* topic :
         {"amr/AMR-001/status", "amr/AMR-001/heartbeat", "$aws/things/AMR-001/shadow/name/robot/update",
          "$aws/things/AMR-001/shadow/name/robot/get"}) {
        EXPECT_TRUE(allows(device, Action::publish, topic, amr001())) << topic;
        EXPECT_TRUE(allows(device, Action::receive, topic, amr001())) << topic;
    }
    EXPECT_TRUE(
        allows(device, Action::receive, "$aws/things/AMR-001/shadow/name/robot/update/delta", amr001()));
    for (const char* filter :
         {"amr/AMR-001/cmd/call", "amr/AMR-001/#", "$aws/things/AMR-001/shadow/name/robot/get/+",
          "$aws/things/AMR-001/shadow/name/robot/update/delta"}) {
        EXPECT_TRUE(allows(device, Action::subscribe, filter, amr001())) << filter;
    }
}

TEST(PolicyDeviceMatrix, NothingOfAnotherThing) {
    const PolicySet device = load("device.json");
    for (const char* topic :
         {"amr/AMR-002/status", "amr/AMR-002/cmd/call", "$aws/things/AMR-002/shadow/name/robot/update",
          "$aws/things/AMR-002/shadow/name/robot/update/delta", "amr/AMR-0011/status", "amr/AMR-001",
          "AMR-001/status"}) {
        EXPECT_FALSE(allows(device, Action::publish, topic, amr001())) << topic;
        EXPECT_FALSE(allows(device, Action::receive, topic, amr001())) << topic;
        EXPECT_FALSE(allows(device, Action::subscribe, topic, amr001())) << topic;
    }
    // Filters that would reach AMR-002 are matched literally, so they match no pattern.
    for (const char* filter : {"#", "amr/#", "amr/+/status", "$aws/things/+/shadow/#",
                               "$aws/things/AMR-002/shadow/name/robot/get/+"}) {
        EXPECT_FALSE(allows(device, Action::subscribe, filter, amr001())) << filter;
    }
}

TEST(PolicyDeviceMatrix, DetachedThingGetsNoTopics) {
    const PolicySet device = load("device.json");
    RequestContext detached = amr001();
    detached.thing_attached = false;
    detached.thing_name.reset();
    EXPECT_FALSE(allows(device, Action::publish, "amr/AMR-001/status", detached));
    EXPECT_FALSE(allows(device, Action::subscribe, "amr/AMR-001/cmd/call", detached));
}

// device.json grants no iot:RetainPublish today: a retained PUBLISH (e.g. a retained Will on the
// status topic) would be refused on AWS. Flip this test when the policy gains the action.
// The gateway retains its status, heartbeat and Will: AWS needs iot:RetainPublish besides
// iot:Publish for that, on its own topics only.
TEST(PolicyDeviceMatrix, RetainPublishOnlyOnItsOwnTopics) {
    const PolicySet device = load("device.json");
    EXPECT_TRUE(allows(device, Action::publish, "amr/AMR-001/status", amr001()));
    EXPECT_TRUE(allows(device, Action::retain_publish, "amr/AMR-001/status", amr001()));
    EXPECT_TRUE(allows(device, Action::retain_publish, "amr/AMR-001/heartbeat", amr001()));
    EXPECT_FALSE(allows(device, Action::retain_publish, "amr/AMR-002/status", amr001()));
}

// claim.json pins the client id to claim-${iot:Certificate.Subject.CommonName}: one device's claim
// certificate cannot even connect as another device's claim client.
TEST(PolicyClaimMatrix, ConnectOnlyAsItsOwnDevicesClaimClientId) {
    const PolicySet set = load("claim.json");
    EXPECT_TRUE(allows(set, Action::connect, "claim-AMR-001", claim()));
    for (const char* other : {"claim-AMR-002", "claim-AMR-0011", "claim-amr-001", "claim-", "claim",
                              "AMR-001", "xclaim-AMR-001", "claim-*"}) {
        EXPECT_FALSE(allows(set, Action::connect, other, claim())) << other;
    }
}

// AWS: a certificate policy variable without a value (no such subject field) is not substituted, so
// the statement matches nothing; and values holding wildcard characters are never substituted.
TEST(PolicyClaimMatrix, ClaimCertificateWithoutAUsableCommonNameConnectsNowhere) {
    const PolicySet set = load("claim.json");
    RequestContext no_cn = claim();
    no_cn.certificate_subject.clear();
    for (const char* id : {"claim-", "claim-AMR-001", "claim-${iot:Certificate.Subject.CommonName}"})
        EXPECT_FALSE(allows(set, Action::connect, id, no_cn)) << id;
    RequestContext wildcard = claim();
    wildcard.certificate_subject = {{"CommonName", "AMR-*"}};
    for (const char* id : {"claim-AMR-*", "claim-AMR-001"})
        EXPECT_FALSE(allows(set, Action::connect, id, wildcard)) << id;
}

TEST(PolicyClaimMatrix, OnlyTheProvisioningRequests) {
    const PolicySet set = load("claim.json");
    EXPECT_TRUE(allows(set, Action::publish, "$aws/certificates/create-from-csr/json", claim()));
    EXPECT_TRUE(allows(set, Action::publish, "$aws/provisioning-templates/amr/provision/json", claim()));
    for (const char* topic :
         {"$aws/certificates/create/json", "$aws/certificates/create-from-csr/json/accepted",
          "$aws/provisioning-templates/other/provision/json",
          "$aws/provisioning-templates/amr/provision/json/accepted", "amr/AMR-001/status",
          "$aws/things/AMR-001/shadow/name/robot/update", "claim-123/status"}) {
        EXPECT_FALSE(allows(set, Action::publish, topic, claim())) << topic;
    }
}

TEST(PolicyClaimMatrix, OnlyTheProvisioningReplies) {
    const PolicySet set = load("claim.json");
    for (const char* reply : {"$aws/certificates/create-from-csr/json/accepted",
                              "$aws/certificates/create-from-csr/json/rejected",
                              "$aws/provisioning-templates/amr/provision/json/accepted",
                              "$aws/provisioning-templates/amr/provision/json/rejected"}) {
        EXPECT_TRUE(allows(set, Action::subscribe, reply, claim())) << reply;
        EXPECT_TRUE(allows(set, Action::receive, reply, claim())) << reply;
    }
    EXPECT_TRUE(allows(set, Action::subscribe, "$aws/certificates/create-from-csr/json/+", claim()));
    for (const char* other :
         {"#", "$aws/#", "amr/#", "amr/AMR-001/cmd/call", "$aws/certificates/create/json/accepted",
          "$aws/certificates/create-from-csr/json",
          "$aws/provisioning-templates/other/provision/json/accepted",
          "$aws/things/AMR-001/shadow/name/robot/update/accepted"}) {
        EXPECT_FALSE(allows(set, Action::subscribe, other, claim())) << other;
        EXPECT_FALSE(allows(set, Action::receive, other, claim())) << other;
    }
}

TEST(PolicyClaimMatrix, ReasonNamesTheStatement) {
    const PolicySet set = load("claim.json");
    const auto allowed = set.evaluate(Action::publish, "$aws/certificates/create-from-csr/json", claim());
    EXPECT_EQ(allowed.reason,
              "policy 'claim' /Statement/1 allows iot:Publish on "
              "arn:aws:iot:ap-northeast-1:123456789012:topic/$aws/certificates/create-from-csr/json");
    const auto denied = set.evaluate(Action::subscribe, "amr/#", claim());
    EXPECT_EQ(denied.reason,
              "no statement allows iot:Subscribe on "
              "arn:aws:iot:ap-northeast-1:123456789012:topicfilter/amr/#");
}

}  // namespace
}  // namespace localcore::policy_test
