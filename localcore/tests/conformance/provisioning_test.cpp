// Fleet provisioning over MQTT with a claim certificate (docs/aws-iot-core.md section 5): the two
// certificate APIs, RegisterThing with the `amr` template (cloud/provisioning/amr-template.json),
// and replies that reach only the requesting connection.
#include <fstream>
#include <regex>
#include <thread>

#include <gtest/gtest.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "localcore_fixture.hpp"

namespace localcore::conformance {
namespace {

using Received = TestMqttClient::Received;

const std::string kCreate = "$aws/certificates/create/json";
const std::string kCreateFromCsr = "$aws/certificates/create-from-csr/json";
const std::string kProvision = "$aws/provisioning-templates/amr/provision/json";

// cloud/policies/claim.json allows only CreateCertificateFromCsr (the device keeps its key);
// CreateKeysAndCertificate needs this wider claim policy, written for the test.
constexpr const char* kClaimWithKeysPolicy = R"({"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": ["iot:Connect"], "Resource": ["arn:aws:iot:*:*:client/claim-*"]},
  {"Effect": "Allow", "Action": ["iot:Publish"], "Resource": [
    "arn:aws:iot:*:*:topic/$aws/certificates/create/json",
    "arn:aws:iot:*:*:topic/$aws/provisioning-templates/amr/provision/json"]},
  {"Effect": "Allow", "Action": ["iot:Receive"], "Resource": [
    "arn:aws:iot:*:*:topic/$aws/certificates/create/json/*",
    "arn:aws:iot:*:*:topic/$aws/provisioning-templates/amr/provision/json/*"]},
  {"Effect": "Allow", "Action": ["iot:Subscribe"], "Resource": [
    "arn:aws:iot:*:*:topicfilter/$aws/certificates/create/json/*",
    "arn:aws:iot:*:*:topicfilter/$aws/provisioning-templates/amr/provision/json/*"]}]})";

std::string json_object(const std::vector<std::pair<std::string, std::string>>& members,
                        const std::vector<std::pair<std::string, std::string>>& parameters = {}) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    w.StartObject();
    for (const auto& [k, v] : members) {
        w.Key(k.c_str());
        w.String(v.c_str());
    }
    if (!parameters.empty()) {
        w.Key("parameters");
        w.StartObject();
        for (const auto& [k, v] : parameters) {
            w.Key(k.c_str());
            w.String(v.c_str());
        }
        w.EndObject();
    }
    w.EndObject();
    return buffer.GetString();
}

bool is_cert_id(const std::string& id) { return std::regex_match(id, std::regex("[0-9a-f]{64}")); }

class ConformanceProvisioning : public LocalCoreTest {
protected:
    void SetUp() override {
        LocalCoreTest::SetUp();
        lc->put_policy("claim-keys", kClaimWithKeysPolicy);
        // AMR-010's own claim certificate (the pre-provisioning hook lets it register only AMR-010),
        // with the wider policy instead of `claim`.
        const fs::path prefix = lc->fresh_path("AMR-010-claim-keys");
        const std::string id = lc->cli(
            {"issue-claim-cert", "--thing", "AMR-010", "--policy", "claim-keys", "--out", prefix.string()});
        claim_keys = Identity{fs::path(prefix) += ".pem", fs::path(prefix) += ".key", id.substr(0, 64)};
    }

    // A claim connection subscribed to the accepted/rejected replies of `api` and of RegisterThing.
    std::unique_ptr<TestMqttClient> claim_client(const Identity& cert, const std::string& id,
                                                 const std::string& api) {
        auto c = lc->connect(cert, id);
        if (!c) return nullptr;
        c->subscribe(api + "/accepted");
        c->subscribe(api + "/rejected");
        c->subscribe(kProvision + "/accepted");
        c->subscribe(kProvision + "/rejected");
        return c;
    }

    static std::optional<Received> reply(TestMqttClient& c, const std::string& api) {
        return c.wait_for(
            [&](const Received& r) { return r.topic == api + "/accepted" || r.topic == api + "/rejected"; },
            10s);
    }

    // openssl CLI: a P-256 key and a CSR for it; returns the CSR PEM, the key lands in `key`.
    std::string make_csr(const fs::path& key) {
        const fs::path csr = lc->fresh_path("device") += ".csr";
        const CommandResult r = run_program(
            {"/usr/bin/openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", key.string(), "-subj", "/CN=amr-device", "-out", csr.string()},
            lc->fresh_path("openssl") += ".log");
        EXPECT_EQ(r.status, 0) << r.output;
        std::ifstream in(csr);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }

    Identity claim_keys;
};

TEST_F(ConformanceProvisioning, CreateKeysAndCertificateAnswersWithAPendingCertificateAndItsKey) {
    auto c = claim_client(claim_keys, "claim-1", kCreate);
    ASSERT_TRUE(c);
    c->publish(kCreate, "{}", 1);
    const auto r = reply(*c, kCreate);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->topic, kCreate + "/accepted") << r->payload;
    const auto doc = parse_json(r->payload);
    const std::string id = json_str(doc, {"certificateId"}).value_or("");
    EXPECT_TRUE(is_cert_id(id)) << r->payload;
    EXPECT_TRUE(json_str(doc, {"certificatePem"}).value_or("").starts_with("-----BEGIN CERTIFICATE-----"));
    EXPECT_NE(json_str(doc, {"privateKey"}).value_or("").find("PRIVATE KEY-----"), std::string::npos);
    EXPECT_FALSE(json_str(doc, {"certificateOwnershipToken"}).value_or("").empty()) << r->payload;
    EXPECT_EQ(lc->cert_status(id), "PENDING_ACTIVATION");
}

TEST_F(ConformanceProvisioning, RegisterThingWithTheAmrTemplateCreatesAThingWhoseNewCertificateConnects) {
    auto c = claim_client(claim_keys, "claim-1", kCreate);
    ASSERT_TRUE(c);
    c->publish(kCreate, "{}", 1);
    const auto created = reply(*c, kCreate);
    ASSERT_TRUE(created && created->topic == kCreate + "/accepted")
        << (created ? created->payload : "no reply");
    const auto keys = parse_json(created->payload);
    const std::string cert_id = json_str(keys, {"certificateId"}).value_or("");
    const std::string token = json_str(keys, {"certificateOwnershipToken"}).value_or("");

    c->publish(kProvision, json_object({{"certificateOwnershipToken", token}}, {{"SerialNumber", "AMR-010"}}),
               1);
    const auto registered = reply(*c, kProvision);
    ASSERT_TRUE(registered);
    ASSERT_EQ(registered->topic, kProvision + "/accepted") << registered->payload;
    const auto answer = parse_json(registered->payload);
    EXPECT_EQ(json_str(answer, {"thingName"}), "AMR-010");
    EXPECT_EQ(json_str(answer, {"deviceConfiguration", "topicPrefix"}), "amr/AMR-010");

    EXPECT_EQ(lc->cert_status(cert_id), "ACTIVE");
    const CommandResult thing = lc->cli_result({"describe", "thing", "AMR-010"});
    EXPECT_EQ(thing.status, 0) << thing.output;
    EXPECT_NE(thing.output.find(cert_id), std::string::npos) << thing.output;

    // The device now connects with what the claim flow gave it.
    Identity device{lc->fresh_path("AMR-010") += ".pem", lc->fresh_path("AMR-010") += ".key", cert_id};
    std::ofstream(device.cert) << json_str(keys, {"certificatePem"}).value_or("");
    std::ofstream(device.key) << json_str(keys, {"privateKey"}).value_or("");
    auto amr10 = lc->connect(device, "AMR-010");
    ASSERT_TRUE(amr10);
    EXPECT_NO_THROW(amr10->publish("amr/AMR-010/status", R"({"state":"ready"})", 1));
    const CommandResult v5_publish = lc->pub(device, "AMR-010", "amr/AMR-010/status", "{}", 1, Mqtt::v5);
    EXPECT_NE(v5_publish.output.find("RC:16"), std::string::npos) << "PUBACK success (no subscribers):\n"
                                                                  << v5_publish.output;
}

TEST_F(ConformanceProvisioning, CreateCertificateFromCsrSignsAnOpensslCsrForTheStandardClaimPolicy) {
    const fs::path key = lc->fresh_path("AMR-011") += ".key";
    const std::string csr = make_csr(key);
    ASSERT_NE(csr.find("CERTIFICATE REQUEST"), std::string::npos);

    auto c = claim_client(lc->claim_for("AMR-011"), "claim-AMR-011", kCreateFromCsr);
    ASSERT_TRUE(c);
    c->publish(kCreateFromCsr, json_object({{"certificateSigningRequest", csr}}), 1);
    const auto r = reply(*c, kCreateFromCsr);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->topic, kCreateFromCsr + "/accepted") << r->payload;
    const auto doc = parse_json(r->payload);
    const std::string cert_id = json_str(doc, {"certificateId"}).value_or("");
    EXPECT_TRUE(is_cert_id(cert_id)) << r->payload;
    EXPECT_FALSE(json_has(doc, {"privateKey"})) << "the key never left the device";
    const std::string token = json_str(doc, {"certificateOwnershipToken"}).value_or("");
    ASSERT_FALSE(token.empty()) << r->payload;

    c->publish(kProvision, json_object({{"certificateOwnershipToken", token}}, {{"SerialNumber", "AMR-011"}}),
               1);
    const auto registered = reply(*c, kProvision);
    ASSERT_TRUE(registered);
    ASSERT_EQ(registered->topic, kProvision + "/accepted") << registered->payload;

    Identity device{lc->fresh_path("AMR-011") += ".pem", key, cert_id};
    std::ofstream(device.cert) << json_str(doc, {"certificatePem"}).value_or("");
    auto amr11 = lc->connect(device, "AMR-011");
    ASSERT_TRUE(amr11);
    EXPECT_NO_THROW(amr11->publish("amr/AMR-011/status", "{}", 1));
}

TEST_F(ConformanceProvisioning, ConcurrentClaimClientsEachReceiveOnlyTheirOwnReply) {
    auto a = claim_client(lc->claim_for("AMR-021"), "claim-AMR-021", kCreateFromCsr);
    auto b = claim_client(lc->claim_for("AMR-022"), "claim-AMR-022", kCreateFromCsr);
    ASSERT_TRUE(a && b);
    const std::string csr_a = make_csr(lc->fresh_path("a") += ".key");
    const std::string csr_b = make_csr(lc->fresh_path("b") += ".key");

    std::thread ta([&] {
        a->publish(kCreateFromCsr, json_object({{"certificateSigningRequest", csr_a}}), 1);
    });
    std::thread tb([&] {
        b->publish(kCreateFromCsr, json_object({{"certificateSigningRequest", csr_b}}), 1);
    });
    ta.join();
    tb.join();

    const auto ra = reply(*a, kCreateFromCsr);
    const auto rb = reply(*b, kCreateFromCsr);
    ASSERT_TRUE(ra && rb);
    ASSERT_EQ(ra->topic, kCreateFromCsr + "/accepted") << ra->payload;
    ASSERT_EQ(rb->topic, kCreateFromCsr + "/accepted") << rb->payload;
    EXPECT_NE(json_str(parse_json(ra->payload), {"certificateId"}),
              json_str(parse_json(rb->payload), {"certificateId"}));
    // A fan-out would bring each client the other's reply too (same topic, same subscription).
    std::this_thread::sleep_for(500ms);
    EXPECT_EQ(a->count(kCreateFromCsr + "/accepted"), 1u);
    EXPECT_EQ(b->count(kCreateFromCsr + "/accepted"), 1u);
}

TEST_F(ConformanceProvisioning, ReplyIsNotDeliveredToAThirdClientSubscribedToTheSameTopic) {
    auto bystander = claim_client(claim_keys, "claim-bystander", kCreate);
    auto requester = claim_client(claim_keys, "claim-requester", kCreate);
    ASSERT_TRUE(bystander && requester);
    requester->publish(kCreate, "{}", 1);
    const auto r = reply(*requester, kCreate);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->topic, kCreate + "/accepted") << r->payload;

    std::this_thread::sleep_for(500ms);
    EXPECT_EQ(bystander->count(kCreate + "/accepted"), 0u) << "another connection's private key leaked";
    // Control: the bystander's subscription works for its own request.
    bystander->publish(kCreate, "{}", 1);
    EXPECT_TRUE(reply(*bystander, kCreate));
}

// The pre-provisioning hook (cloud/provisioning/amr-hook.json) over MQTT: AMR-001's claim
// certificate cannot register AMR-002; AMR-002's certificate and connection are untouched.
TEST_F(ConformanceProvisioning, AnotherDevicesSerialIsRefusedWithTheHooksReason) {
    auto amr2 = lc->connect(lc->amr2, "AMR-002");
    ASSERT_TRUE(amr2);
    auto c = claim_client(lc->claim, "claim-AMR-001", kCreateFromCsr);
    ASSERT_TRUE(c);
    c->publish(kCreateFromCsr,
               json_object({{"certificateSigningRequest", make_csr(lc->fresh_path("x") += ".key")}}), 1);
    const auto created = reply(*c, kCreateFromCsr);
    ASSERT_TRUE(created && created->topic == kCreateFromCsr + "/accepted")
        << (created ? created->payload : "none");
    const auto doc = parse_json(created->payload);
    const std::string new_id = json_str(doc, {"certificateId"}).value_or("");
    c->publish(kProvision,
               json_object(
                   {{"certificateOwnershipToken", json_str(doc, {"certificateOwnershipToken"}).value_or("")}},
                   {{"SerialNumber", "AMR-002"}}),
               1);
    const auto refused = reply(*c, kProvision);
    ASSERT_TRUE(refused);
    ASSERT_EQ(refused->topic, kProvision + "/rejected") << refused->payload;
    const auto answer = parse_json(refused->payload);
    EXPECT_EQ(json_str(answer, {"errorCode"}), "AccessDenied");
    EXPECT_NE(json_str(answer, {"errorMessage"})
                  .value_or("")
                  .find("claim certificate is bound to AMR-001, not AMR-002"),
              std::string::npos)
        << refused->payload;

    EXPECT_EQ(lc->cert_status(new_id), "PENDING_ACTIVATION");
    EXPECT_EQ(lc->cert_status(lc->amr2.cert_id), "ACTIVE");
    const std::string thing = lc->cli({"describe", "thing", "AMR-002"});
    EXPECT_NE(thing.find(lc->amr2.cert_id), std::string::npos) << thing;
    EXPECT_EQ(thing.find(new_id), std::string::npos) << thing;
    EXPECT_TRUE(amr2->connected());
    EXPECT_NO_THROW(amr2->publish("amr/AMR-002/status", "{}", 1));
}

TEST_F(ConformanceProvisioning, LockedThingIsRefusedOverMqttUntilUnlocked) {
    const fs::path key = lc->fresh_path("AMR-001") += ".key";
    auto c = claim_client(lc->claim, "claim-AMR-001", kCreateFromCsr);
    ASSERT_TRUE(c);
    const auto register_own = [&] {
        c->publish(kCreateFromCsr, json_object({{"certificateSigningRequest", make_csr(key)}}), 1);
        const auto created = reply(*c, kCreateFromCsr);
        EXPECT_TRUE(created && created->topic == kCreateFromCsr + "/accepted");
        const auto token =
            json_str(parse_json(created ? created->payload : "{}"), {"certificateOwnershipToken"});
        c->publish(
            kProvision,
            json_object({{"certificateOwnershipToken", token.value_or("")}}, {{"SerialNumber", "AMR-001"}}),
            1);
        return reply(*c, kProvision);
    };
    lc->cli({"lock-thing", "--thing", "AMR-001"});
    const auto locked = register_own();
    ASSERT_TRUE(locked);
    EXPECT_EQ(locked->topic, kProvision + "/rejected");
    EXPECT_NE(locked->payload.find("thing_locked"), std::string::npos) << locked->payload;

    lc->cli({"unlock-thing", "--thing", "AMR-001"});
    // Replies arrive in order on the one connection; skip the earlier one.
    c->clear();
    const auto unlocked = register_own();
    ASSERT_TRUE(unlocked);
    EXPECT_EQ(unlocked->topic, kProvision + "/accepted") << unlocked->payload;
}

}  // namespace
}  // namespace localcore::conformance
