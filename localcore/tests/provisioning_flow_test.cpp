// Fleet provisioning end to end against a real registry and CA: CreateKeysAndCertificate,
// CreateCertificateFromCsr, RegisterThing, token rules, expiry and atomicity.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <rapidjson/document.h>
#include <sys/stat.h>

#include "atomic_file.hpp"
#include "ca.hpp"
#include "provisioning.hpp"
#include "registry.hpp"
#include "service_reply.hpp"
#include "test_support.hpp"

// Inside localcore, in the namespace of the shared test helpers (service_reply.hpp): the services
// and helpers need no using.
namespace localcore::test {
namespace {

namespace fs = std::filesystem;
using iotgw::test::TempDir;
using ::testing::HasSubstr;

constexpr std::int64_t kT0 = 1'700'000'000'000;

// The fields of an accepted create reply.
struct Created {
    std::string id;
    std::string pem;
    std::string token;
};

struct CsrAndKey {
    std::string pem;
    std::shared_ptr<EVP_PKEY> key;
};

CsrAndKey make_csr(const char* curve, const std::string& cn) {
    std::shared_ptr<EVP_PKEY> key(EVP_EC_gen(curve), EVP_PKEY_free);
    std::unique_ptr<X509_REQ, decltype(&X509_REQ_free)> req(X509_REQ_new(), &X509_REQ_free);
    X509_NAME* name = X509_REQ_get_subject_name(req.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()),
                               -1, -1, 0);
    X509_REQ_set_pubkey(req.get(), key.get());
    X509_REQ_sign(req.get(), key.get(), EVP_sha256());
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    PEM_write_bio_X509_REQ(bio.get(), req.get());
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    return {std::string(data, static_cast<std::size_t>(len)), key};
}

std::unique_ptr<X509, decltype(&X509_free)> parse_cert(const std::string& pem) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                                                  &BIO_free);
    return {PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free};
}

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

ino_t inode_of(const fs::path& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 ? st.st_ino : 0;
}

class FleetProvisioningFlow : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        ca_dir_ = new TempDir;
        Ca::init(ca_dir_->path() / "ca");
        ca_ = new Ca(Ca::open(ca_dir_->path() / "ca"));
    }
    static void TearDownTestSuite() {
        delete ca_;
        delete ca_dir_;
        ca_ = nullptr;
        ca_dir_ = nullptr;
    }

    void SetUp() override {
        registry_.emplace(Registry::open(dir_.path()));
        registry_->put_policy("device", localcore::read_file(fs::path(LOCALCORE_POLICY_DIR) / "device.json"));
        options_.templates_dir = dir_.path() / "templates";
        fs::create_directories(options_.templates_dir);
        fs::copy_file(fs::path(LOCALCORE_POLICY_DIR).parent_path() / "provisioning" / "amr-template.json",
                      options_.templates_dir / "amr-template.json");
        options_.ownership_token_ttl = std::chrono::seconds(60);
    }

    FleetProvisioning make() { return FleetProvisioning(*registry_, *ca_, dir_.path(), options_); }

    void write_template(const std::string& name, const std::string& json) {
        localcore::write_file_atomic(options_.templates_dir / (name + "-template.json"), json);
    }

    Reply call(FleetProvisioning& fp, const std::string& topic, const std::string& payload,
               std::int64_t now = kT0,
               const RequesterContext& who = RequesterContext{"claim-1", "", std::nullopt}) {
        return only_reply(fp.handle(topic, payload, who, now), topic);
    }

    Created create(FleetProvisioning& fp, std::int64_t now = kT0) {
        auto r = call(fp, kCreate, "{}", now);
        EXPECT_EQ(r.topic, std::string(kCreate) + "/accepted") << r.payload;
        return {r.str("certificateId"), r.str("certificatePem"), r.str("certificateOwnershipToken")};
    }

    Reply register_thing(FleetProvisioning& fp, const std::string& token, const std::string& parameters,
                         std::int64_t now = kT0, const std::string& topic = kRegisterAmr) {
        return call(fp, topic,
                    R"({"certificateOwnershipToken": )" + json_string(token) + R"(, "parameters": )" +
                        parameters + "}",
                    now);
    }

    std::string registry_text() const { return localcore::read_file(registry_->file()); }

    static void expect_rejected(const Reply& r, const std::string& request_topic, int status,
                                const std::string& code, const std::string& message_part) {
        EXPECT_EQ(r.topic, request_topic + "/rejected") << r.payload;
        EXPECT_TRUE(r.only_to_requester);
        EXPECT_EQ(r.status(), status) << r.payload;
        EXPECT_EQ(r.str("errorCode"), code) << r.payload;
        EXPECT_THAT(r.str("errorMessage"), HasSubstr(message_part));
    }

    TempDir dir_;
    std::optional<Registry> registry_;
    ProvisioningOptions options_;
    static TempDir* ca_dir_;
    static Ca* ca_;
};
TempDir* FleetProvisioningFlow::ca_dir_ = nullptr;
Ca* FleetProvisioningFlow::ca_ = nullptr;

TEST_F(FleetProvisioningFlow, RequestTopics) {
    EXPECT_TRUE(FleetProvisioning::is_request_topic("$aws/certificates/create/json"));
    EXPECT_TRUE(FleetProvisioning::is_request_topic("$aws/certificates/create/cbor"));
    EXPECT_TRUE(FleetProvisioning::is_request_topic("$aws/certificates/create-from-csr/json"));
    EXPECT_TRUE(FleetProvisioning::is_request_topic("$aws/provisioning-templates/amr/provision/json"));
    EXPECT_TRUE(FleetProvisioning::is_request_topic("$aws/provisioning-templates/amr/provision/cbor"));
    EXPECT_TRUE(FleetProvisioning::is_request_topic(
        "$aws/provisioning-templates/../provision/json"));  // refused later
    EXPECT_FALSE(FleetProvisioning::is_request_topic("$aws/certificates/create/json/accepted"));
    EXPECT_FALSE(FleetProvisioning::is_request_topic("$aws/certificates/create/xml"));
    EXPECT_FALSE(FleetProvisioning::is_request_topic("$aws/certificates/create"));
    EXPECT_FALSE(
        FleetProvisioning::is_request_topic("$aws/provisioning-templates/amr/provision/json/rejected"));
    EXPECT_FALSE(FleetProvisioning::is_request_topic("$aws/provisioning-templates//provision/json"));
    EXPECT_FALSE(FleetProvisioning::is_request_topic("$aws/provisioning-templates/a/b/provision/json"));
    EXPECT_FALSE(FleetProvisioning::is_request_topic("$aws/provisioning-templates/amr/register/json"));
    EXPECT_FALSE(FleetProvisioning::is_request_topic("amr/AMR-001/certificate/rotated"));
    auto fp = make();
    EXPECT_TRUE(fp.handle("amr/x", "{}", {}, kT0).empty());
}

TEST_F(FleetProvisioningFlow, CreateKeysThenRegisterProvisionsTheThing) {
    auto fp = make();
    auto r = call(fp, kCreate, "{}");
    EXPECT_EQ(r.topic, std::string(kCreate) + "/accepted");
    EXPECT_TRUE(r.only_to_requester);
    const auto id = r.str("certificateId");
    const auto pem = r.str("certificatePem");
    const auto key = r.str("privateKey");
    const auto token = r.str("certificateOwnershipToken");
    ASSERT_EQ(id.size(), 64u);
    EXPECT_EQ(id, localcore::inspect_certificate_pem(pem).fingerprint);
    EXPECT_THAT(key, HasSubstr("PRIVATE KEY"));
    EXPECT_FALSE(token.empty());

    // The private key belongs to the certificate; the certificate is registered pending, key not stored.
    auto cert = parse_cert(pem);
    std::unique_ptr<BIO, decltype(&BIO_free)> kb(BIO_new_mem_buf(key.data(), static_cast<int>(key.size())),
                                                 &BIO_free);
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(
        PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
    ASSERT_TRUE(cert && pkey);
    EXPECT_EQ(X509_check_private_key(cert.get(), pkey.get()), 1);
    auto stored = registry_->certificate(id);
    ASSERT_TRUE(stored.has_value());
    EXPECT_EQ(stored->status, CertStatus::PendingActivation);
    EXPECT_EQ(stored->subject_cn, "localcore device");
    EXPECT_THAT(registry_text(), ::testing::Not(HasSubstr("PRIVATE KEY")));
    EXPECT_THAT(localcore::read_file(dir_.path() / "provisioning" / "tokens.json"),
                ::testing::Not(HasSubstr(token)));

    auto reg = register_thing(fp, token, R"({"SerialNumber": "AMR-001"})");
    EXPECT_EQ(reg.topic, std::string(kRegisterAmr) + "/accepted") << reg.payload;
    EXPECT_TRUE(reg.only_to_requester);
    EXPECT_EQ(reg.str("thingName"), "AMR-001");
    auto doc = reg.doc();
    ASSERT_TRUE(doc["deviceConfiguration"].IsObject());
    const auto& config = doc["deviceConfiguration"];
    EXPECT_STREQ(config["thingName"].GetString(), "AMR-001");
    EXPECT_STREQ(config["topicPrefix"].GetString(), "amr/AMR-001");
    EXPECT_STREQ(config["shadowTopicPrefix"].GetString(), "$aws/things/AMR-001/shadow");
    EXPECT_STREQ(config["rotationTopic"].GetString(), "amr/AMR-001/certificate/rotated");

    stored = registry_->certificate(id);
    EXPECT_EQ(stored->status, CertStatus::Active);
    EXPECT_EQ(stored->things, std::vector<std::string>{"AMR-001"});
    EXPECT_EQ(stored->policies, std::vector<std::string>{"device"});
    auto thing = registry_->thing("AMR-001");
    ASSERT_TRUE(thing.has_value());
    EXPECT_EQ(thing->attributes.at("serialNumber"), "AMR-001");
    EXPECT_EQ(thing->attributes.at("model"), "amr");
    EXPECT_EQ(fp.tokens().size(), 0u);
}

TEST_F(FleetProvisioningFlow, CreateFromCsrKeepsTheDevicesKeyAndSubject) {
    auto fp = make();
    const auto csr = make_csr("P-256", "AMR-002");
    auto r = call(fp, kCreateFromCsr, R"({"certificateSigningRequest": )" + json_string(csr.pem) + "}");
    ASSERT_EQ(r.topic, std::string(kCreateFromCsr) + "/accepted") << r.payload;
    EXPECT_TRUE(r.only_to_requester);
    EXPECT_FALSE(r.has("privateKey"));
    const auto pem = r.str("certificatePem");
    auto cert = parse_cert(pem);
    ASSERT_TRUE(cert);
    EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(cert.get()), csr.key.get()), 1);
    const auto id = r.str("certificateId");
    auto stored = registry_->certificate(id);
    ASSERT_TRUE(stored.has_value());
    EXPECT_EQ(stored->subject_cn, "AMR-002");
    EXPECT_EQ(stored->status, CertStatus::PendingActivation);

    auto reg = register_thing(fp, r.str("certificateOwnershipToken"), R"({"SerialNumber": "AMR-002"})");
    EXPECT_EQ(reg.topic, std::string(kRegisterAmr) + "/accepted") << reg.payload;
    EXPECT_EQ(registry_->certificate(id)->status, CertStatus::Active);
}

TEST_F(FleetProvisioningFlow, BadCsrsAreRejected) {
    auto fp = make();
    const auto before = registry_text();
    expect_rejected(call(fp, kCreateFromCsr, R"({"certificateSigningRequest": "not a csr"})"), kCreateFromCsr,
                    400, "InvalidCSR", "not a valid PEM certificate request");
    const auto p384 = make_csr("P-384", "AMR-003");
    expect_rejected(
        call(fp, kCreateFromCsr, R"({"certificateSigningRequest": )" + json_string(p384.pem) + "}"),
        kCreateFromCsr, 400, "InvalidCSR", "P-256");
    // A CSR whose signature was made by another key.
    auto tampered = make_csr("P-256", "AMR-004").pem;
    tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
    const auto r =
        call(fp, kCreateFromCsr, R"({"certificateSigningRequest": )" + json_string(tampered) + "}");
    EXPECT_EQ(r.str("errorCode"), "InvalidCSR") << r.payload;
    expect_rejected(call(fp, kCreateFromCsr, "{}"), kCreateFromCsr, 400, "InvalidPayload",
                    "certificateSigningRequest is missing");
    expect_rejected(call(fp, kCreateFromCsr, ""), kCreateFromCsr, 400, "InvalidPayload", "not a JSON object");
    EXPECT_EQ(registry_text(), before);
    EXPECT_EQ(fp.tokens().size(), 0u);
}

TEST_F(FleetProvisioningFlow, CreatePayloadMayBeEmptyOrAnObject) {
    auto fp = make();
    EXPECT_EQ(call(fp, kCreate, "").topic, std::string(kCreate) + "/accepted");
    EXPECT_EQ(call(fp, kCreate, " {} ").topic, std::string(kCreate) + "/accepted");
    expect_rejected(call(fp, kCreate, "[]"), kCreate, 400, "InvalidPayload", "not a JSON object");
    expect_rejected(call(fp, kCreate, "hello"), kCreate, 400, "InvalidPayload", "not a JSON object");
    EXPECT_EQ(registry_->certificates().size(), 2u);
}

TEST_F(FleetProvisioningFlow, TokensAreSingleUse) {
    auto fp = make();
    const auto c = create(fp);
    EXPECT_EQ(register_thing(fp, c.token, R"({"SerialNumber": "AMR-001"})").topic,
              std::string(kRegisterAmr) + "/accepted");
    expect_rejected(register_thing(fp, c.token, R"({"SerialNumber": "AMR-001"})"), kRegisterAmr, 400,
                    "InvalidCertificateOwnershipToken", "unknown or was already used");
    expect_rejected(register_thing(fp, "made-up", R"({"SerialNumber": "AMR-001"})"), kRegisterAmr, 400,
                    "InvalidCertificateOwnershipToken", "unknown or was already used");
}

TEST_F(FleetProvisioningFlow, AnEmptyTokenGetsTheAwsMessage) {
    auto fp = make();
    for (const char* payload : {R"({"parameters": {"SerialNumber": "AMR-001"}})",
                                R"({"certificateOwnershipToken": "", "parameters": {}})",
                                R"({"certificateOwnershipToken": null})"}) {
        auto r = call(fp, kRegisterAmr, payload);
        expect_rejected(r, kRegisterAmr, 400, "InvalidCertificateOwnershipToken", "");
        EXPECT_EQ(r.str("errorMessage"), "Certificate ownership token cannot be empty.");
    }
}

TEST_F(FleetProvisioningFlow, RegisterPayloadErrors) {
    auto fp = make();
    const auto c = create(fp);
    expect_rejected(call(fp, kRegisterAmr, "nope"), kRegisterAmr, 400, "InvalidPayload", "not a JSON object");
    expect_rejected(call(fp, kRegisterAmr, R"({"certificateOwnershipToken": 5})"), kRegisterAmr, 400,
                    "InvalidPayload", "certificateOwnershipToken must be a string");
    expect_rejected(register_thing(fp, c.token, R"(["AMR-001"])"), kRegisterAmr, 400, "InvalidPayload",
                    "parameters must be an object");
    expect_rejected(register_thing(fp, c.token, R"({"SerialNumber": 1})"), kRegisterAmr, 400,
                    "InvalidPayload", "parameters/SerialNumber must be a string");
    // None of these used the token up.
    EXPECT_EQ(register_thing(fp, c.token, R"({"SerialNumber": "AMR-001"})").topic,
              std::string(kRegisterAmr) + "/accepted");
}

// 200,000 unclosed brackets on each request topic: RapidJSON's recursive parser overflows the
// broker's stack long before the end; the depth-limited parse stops at level 65.
TEST_F(FleetProvisioningFlow, ADeeplyNestedPayloadIsRejectedNotACrash) {
    auto fp = make();
    const std::string deep(200000, '[');
    const auto before = registry_text();
    for (const char* topic : {kCreate, kCreateFromCsr, kRegisterAmr})
        expect_rejected(call(fp, topic, deep), topic, 400, "InvalidPayload",
                        "nesting deeper than 64 at offset 64");
    EXPECT_EQ(registry_text(), before);
}

TEST_F(FleetProvisioningFlow, TokensExpireAtTheTtl) {
    auto fp = make();
    const auto a = create(fp, kT0);
    const auto b = create(fp, kT0);
    const std::int64_t ttl_ms = 60'000;
    expect_rejected(register_thing(fp, a.token, R"({"SerialNumber": "AMR-001"})", kT0 + ttl_ms), kRegisterAmr,
                    400, "InvalidCertificateOwnershipToken", "expired");
    EXPECT_EQ(registry_->certificate(a.id)->status, CertStatus::PendingActivation);
    EXPECT_EQ(register_thing(fp, b.token, R"({"SerialNumber": "AMR-002"})", kT0 + ttl_ms - 1).topic,
              std::string(kRegisterAmr) + "/accepted");
}

TEST_F(FleetProvisioningFlow, ExpireDeletesOnlyCertificatesStillPending) {
    auto fp = make();
    const auto pending = create(fp, kT0);
    const auto registered = create(fp, kT0);
    const auto later = create(fp, kT0 + 30'000);
    ASSERT_EQ(register_thing(fp, registered.token, R"({"SerialNumber": "AMR-001"})").topic,
              std::string(kRegisterAmr) + "/accepted");

    // Nothing due: no registry write at all (the plugin calls this every second).
    const auto inode = inode_of(registry_->file());
    fp.expire(kT0 + 59'999);
    EXPECT_EQ(inode_of(registry_->file()), inode);
    EXPECT_TRUE(registry_->certificate(pending.id).has_value());
    EXPECT_EQ(fp.tokens().size(), 2u);

    fp.expire(kT0 + 60'000);
    EXPECT_FALSE(registry_->certificate(pending.id).has_value());
    EXPECT_EQ(registry_->certificate(registered.id)->status, CertStatus::Active);
    EXPECT_TRUE(registry_->certificate(later.id).has_value());
    EXPECT_EQ(fp.tokens().size(), 1u);

    fp.expire(kT0 + 90'000);
    EXPECT_FALSE(registry_->certificate(later.id).has_value());
    EXPECT_EQ(fp.tokens().size(), 0u);
    EXPECT_EQ(registry_->certificates().size(), 1u);
}

TEST_F(FleetProvisioningFlow, ExpireKeepsCertificatesSomeoneActivatedOrAttached) {
    auto fp = make();
    const auto activated = create(fp);
    const auto attached = create(fp);
    registry_->set_status(activated.id, CertStatus::Active);
    registry_->create_thing("AMR-009");
    registry_->attach_thing(attached.id, "AMR-009");
    fp.expire(kT0 + 60'000);
    EXPECT_TRUE(registry_->certificate(activated.id).has_value());
    EXPECT_TRUE(registry_->certificate(attached.id).has_value());
    EXPECT_EQ(fp.tokens().size(), 0u);
}

TEST_F(FleetProvisioningFlow, TokensSurviveARestart) {
    Created a, b;
    {
        auto fp = make();
        a = create(fp);
        b = create(fp);
    }
    auto fp = make();
    EXPECT_EQ(fp.tokens().size(), 2u);
    EXPECT_EQ(register_thing(fp, a.token, R"({"SerialNumber": "AMR-001"})").topic,
              std::string(kRegisterAmr) + "/accepted");
    fp.expire(kT0 + 60'000);
    EXPECT_FALSE(registry_->certificate(b.id).has_value());
    EXPECT_EQ(registry_->certificate(a.id)->status, CertStatus::Active);
}

TEST_F(FleetProvisioningFlow, TwoRequestersGetDistinctCertificatesAndBearerTokens) {
    auto fp = make();
    const RequesterContext one{"claim-1", "", std::nullopt};
    const RequesterContext two{"claim-2", "", std::nullopt};
    auto r1 = call(fp, kCreate, "{}", kT0, one);
    auto r2 = call(fp, kCreate, "{}", kT0, two);
    EXPECT_NE(r1.str("certificateId"), r2.str("certificateId"));
    EXPECT_NE(r1.str("certificateOwnershipToken"), r2.str("certificateOwnershipToken"));
    EXPECT_NE(r1.str("privateKey"), r2.str("privateKey"));
    // As on AWS the token is a bearer token: it registers the certificate it was issued with, whoever
    // presents it; it never registers the other requester's certificate.
    auto reg = call(fp, kRegisterAmr,
                    R"({"certificateOwnershipToken": )" + json_string(r1.str("certificateOwnershipToken")) +
                        R"(, "parameters": {"SerialNumber": "AMR-001"}})",
                    kT0, two);
    EXPECT_EQ(reg.topic, std::string(kRegisterAmr) + "/accepted");
    EXPECT_EQ(registry_->certificate(r1.str("certificateId"))->status, CertStatus::Active);
    EXPECT_EQ(registry_->certificate(r2.str("certificateId"))->status, CertStatus::PendingActivation);
}

TEST_F(FleetProvisioningFlow, UnknownAndInvalidTemplates) {
    auto fp = make();
    const auto c = create(fp);
    const std::string unknown = "$aws/provisioning-templates/nope/provision/json";
    expect_rejected(register_thing(fp, c.token, R"({"SerialNumber": "AMR-001"})", kT0, unknown), unknown, 404,
                    "ResourceNotFound", "no provisioning template 'nope'");
    const std::string traversal = "$aws/provisioning-templates/../provision/json";
    expect_rejected(register_thing(fp, c.token, R"({"SerialNumber": "AMR-001"})", kT0, traversal), traversal,
                    404, "ResourceNotFound", "template names are 1 to 36 characters");
    const std::string dotted = "$aws/provisioning-templates/amr.json/provision/json";
    expect_rejected(register_thing(fp, c.token, R"({"SerialNumber": "AMR-001"})", kT0, dotted), dotted, 404,
                    "ResourceNotFound", "");
    EXPECT_EQ(registry_->certificate(c.id)->status, CertStatus::PendingActivation);
    EXPECT_EQ(fp.tokens().size(), 1u);
}

TEST_F(FleetProvisioningFlow, MissingParameterIsRejectedAndChangesNothing) {
    auto fp = make();
    const auto c = create(fp);
    const auto before = registry_text();
    expect_rejected(register_thing(fp, c.token, R"({"Serial": "AMR-001"})"), kRegisterAmr, 400,
                    "InvalidParameters", "parameter 'SerialNumber' is missing and has no default");
    expect_rejected(register_thing(fp, c.token, R"({"SerialNumber": "AMR 001"})"), kRegisterAmr, 400,
                    "InvalidParameters",
                    "/Resources/thing/Properties/ThingName: invalid thing name 'AMR 001'");
    EXPECT_EQ(registry_text(), before);
    EXPECT_EQ(register_thing(fp, c.token, R"({"SerialNumber": "AMR-001"})").topic,
              std::string(kRegisterAmr) + "/accepted");
}

TEST_F(FleetProvisioningFlow, ParameterDefaultsAndFunctionsReachTheRegistryAndTheDevice) {
    write_template("fn", R"({
      "Parameters": {
        "Serial": {"Type": "String"},
        "Site": {"Type": "String", "Default": "tokyo"},
        "Tags": {"Type": "String", "Default": "red,green,blue"}
      },
      "Mappings": {"Sites": {"tokyo": {"broker": "tokyo.example", "zone": "A"}, "osaka": {"broker": "osaka.example", "zone": "B"}}},
      "Resources": {
        "thing": {"Type": "AWS::IoT::Thing", "Properties": {
          "ThingName": {"Fn::Join": ["-", ["AMR", {"Fn::Select": [1, {"Fn::Split": [":", {"Ref": "Serial"}]}]}]]},
          "AttributePayload": {"site": {"Ref": "Site"}, "zone": {"Fn::FindInMap": ["Sites", {"Ref": "Site"}, "zone"]}}}},
        "cert": {"Type": "AWS::IoT::Certificate", "Properties": {"CertificateId": {"Ref": "AWS::IoT::Certificate::Id"}, "Status": "Active"}},
        "policy": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyName": "device"}}
      },
      "DeviceConfiguration": {
        "broker": {"Fn::FindInMap": ["Sites", {"Ref": "Site"}, "broker"]},
        "cert": {"Fn::Sub": "cert-${AWS::IoT::Certificate::Id}"},
        "tag": {"Fn::Select": [2, {"Fn::Split": [",", {"Ref": "Tags"}]}]},
        "literal": "fixed"
      }
    })");
    auto fp = make();
    const std::string topic = "$aws/provisioning-templates/fn/provision/json";
    const auto a = create(fp);
    auto r = register_thing(fp, a.token, R"({"Serial": "line:007"})", kT0, topic);
    ASSERT_EQ(r.topic, topic + "/accepted") << r.payload;
    EXPECT_EQ(r.str("thingName"), "AMR-007");
    auto doc = r.doc();
    const auto& config = doc["deviceConfiguration"];
    EXPECT_STREQ(config["broker"].GetString(), "tokyo.example");
    EXPECT_EQ(std::string(config["cert"].GetString()), "cert-" + a.id);
    EXPECT_STREQ(config["tag"].GetString(), "blue");
    EXPECT_STREQ(config["literal"].GetString(), "fixed");
    EXPECT_EQ(registry_->thing("AMR-007")->attributes,
              (std::map<std::string, std::string>{{"site", "tokyo"}, {"zone", "A"}}));

    const auto b = create(fp);
    r = register_thing(fp, b.token, R"({"Serial": "line:008", "Site": "osaka"})", kT0, topic);
    ASSERT_EQ(r.topic, topic + "/accepted") << r.payload;
    EXPECT_STREQ(r.doc()["deviceConfiguration"]["broker"].GetString(), "osaka.example");
    const auto c = create(fp);
    expect_rejected(register_thing(fp, c.token, R"({"Serial": "line:009", "Site": "nagoya"})", kT0, topic),
                    topic, 400, "InvalidParameters", "mapping 'Sites' has no key 'nagoya'");
    expect_rejected(register_thing(fp, c.token, R"({"Serial": "nocolon"})", kT0, topic), topic, 400,
                    "InvalidParameters", "Fn::Select index 1 is out of range for a list of 1 values");
}

TEST_F(FleetProvisioningFlow, ABrokenTemplateIsAnInternalFailureNamingThePath) {
    write_template("broken", R"({"Parameters": {"SerialNumber": {"Type": "String"}},
      "Resources": {"thing": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": {"Ref": "Serial"}}},
                    "cert": {"Type": "AWS::IoT::Certificate", "Properties": {"CertificateId": {"Ref": "AWS::IoT::Certificate::Id"}}}}})");
    auto fp = make();
    const auto c = create(fp);
    const auto before = registry_text();
    const std::string topic = "$aws/provisioning-templates/broken/provision/json";
    expect_rejected(
        register_thing(fp, c.token, R"({"SerialNumber": "AMR-001"})", kT0, topic), topic, 500,
        "InternalFailure",
        "template 'broken' /Resources/thing/Properties/ThingName: Ref to unknown parameter 'Serial'");
    EXPECT_EQ(registry_text(), before);
}

TEST_F(FleetProvisioningFlow, AFailureInsideTheRegistryUpdateChangesNothing) {
    // The policy document is applied before the missing policy is found: both or nothing.
    write_template("half", R"({"Parameters": {"SerialNumber": {"Type": "String"}},
      "Resources": {
        "thing": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": {"Ref": "SerialNumber"}}},
        "cert": {"Type": "AWS::IoT::Certificate", "Properties": {"CertificateId": {"Ref": "AWS::IoT::Certificate::Id"}}},
        "extra": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}]}}},
        "missing": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyName": "not-there"}}}})");
    auto fp = make();
    const auto c = create(fp);
    const auto before = registry_text();
    const std::string topic = "$aws/provisioning-templates/half/provision/json";
    expect_rejected(register_thing(fp, c.token, R"({"SerialNumber": "AMR-001"})", kT0, topic), topic, 500,
                    "InternalFailure", "policy 'not-there' does not exist");
    EXPECT_EQ(registry_text(), before);
    EXPECT_FALSE(registry_->thing("AMR-001").has_value());
    EXPECT_EQ(registry_->policies().size(), 1u);

    registry_->put_policy("not-there", R"({"Version":"2012-10-17","Statement":[]})");
    ASSERT_EQ(register_thing(fp, c.token, R"({"SerialNumber": "AMR-001"})", kT0, topic).topic,
              topic + "/accepted");
    auto cert = registry_->certificate(c.id);
    EXPECT_EQ(cert->policies.size(), 2u);  // the hash-named document policy and not-there
    EXPECT_EQ(registry_->policies().size(), 3u);
    EXPECT_EQ(cert->status, CertStatus::Active);  // Status defaults to ACTIVE
}

TEST_F(FleetProvisioningFlow, OverrideSettingsOnAnExistingThing) {
    const auto tmpl = [](const char* action) {
        return std::string(
                   R"({"Parameters": {"SerialNumber": {"Type": "String"}, "Color": {"Type": "String"}},
          "Resources": {
            "thing": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": {"Ref": "SerialNumber"},
                      "AttributePayload": {"color": {"Ref": "Color"}}},
                      "OverrideSettings": {"AttributePayload": ")") +
               action + R"("}},
            "cert": {"Type": "AWS::IoT::Certificate", "Properties": {"CertificateId": {"Ref": "AWS::IoT::Certificate::Id"}}}}})";
    };
    write_template("nothing", tmpl("DO_NOTHING"));
    write_template("replace", tmpl("REPLACE"));
    write_template("merge", tmpl("MERGE"));
    write_template("fail", tmpl("FAIL"));
    registry_->create_thing("AMR-001", {{"color", "red"}, {"size", "L"}});
    auto fp = make();
    const auto provision = [&](const std::string& name, const char* color) {
        const auto c = create(fp);
        const std::string topic = "$aws/provisioning-templates/" + name + "/provision/json";
        return register_thing(fp, c.token,
                              std::string(R"({"SerialNumber": "AMR-001", "Color": ")") + color + "\"}", kT0,
                              topic);
    };
    using Attrs = std::map<std::string, std::string>;
    EXPECT_THAT(provision("nothing", "blue").topic, ::testing::EndsWith("/accepted"));
    EXPECT_EQ(registry_->thing("AMR-001")->attributes, (Attrs{{"color", "red"}, {"size", "L"}}));
    EXPECT_THAT(provision("merge", "green").topic, ::testing::EndsWith("/accepted"));
    EXPECT_EQ(registry_->thing("AMR-001")->attributes, (Attrs{{"color", "green"}, {"size", "L"}}));
    EXPECT_THAT(provision("replace", "blue").topic, ::testing::EndsWith("/accepted"));
    EXPECT_EQ(registry_->thing("AMR-001")->attributes, (Attrs{{"color", "blue"}}));
    const auto before = registry_text();
    auto r = provision("fail", "black");
    EXPECT_EQ(r.status(), 409);
    EXPECT_EQ(r.str("errorCode"), "ResourceConflictsException");
    // Only the CreateKeysAndCertificate of this last attempt changed the registry.
    auto data = localcore::parse_registry_json(registry_text(), "x");
    EXPECT_EQ(data.things.at("AMR-001").attributes, (Attrs{{"color", "blue"}}));
    EXPECT_EQ(std::count_if(data.certificates.begin(), data.certificates.end(),
                            [](const auto& kv) { return kv.second.status == CertStatus::Active; }),
              3);
    EXPECT_NE(registry_text(), before);
}

TEST_F(FleetProvisioningFlow, ReprovisioningTheSameSerialAttachesTheNewCertificateToo) {
    auto fp = make();
    const auto first = create(fp);
    const auto second = create(fp);
    ASSERT_THAT(register_thing(fp, first.token, R"({"SerialNumber": "AMR-001"})").topic,
                ::testing::EndsWith("/accepted"));
    ASSERT_THAT(register_thing(fp, second.token, R"({"SerialNumber": "AMR-001"})").topic,
                ::testing::EndsWith("/accepted"));
    EXPECT_EQ(registry_->certificate(first.id)->things, std::vector<std::string>{"AMR-001"});
    EXPECT_EQ(registry_->certificate(second.id)->things, std::vector<std::string>{"AMR-001"});
    EXPECT_EQ(registry_->things().size(), 1u);
}

TEST_F(FleetProvisioningFlow, ARevokedCertificateCannotBeRegistered) {
    auto fp = make();
    const auto c = create(fp);
    registry_->set_status(c.id, CertStatus::Revoked);
    expect_rejected(register_thing(fp, c.token, R"({"SerialNumber": "AMR-001"})"), kRegisterAmr, 403,
                    "AccessDenied", "REVOKED");
    EXPECT_EQ(registry_->certificate(c.id)->status, CertStatus::Revoked);
    EXPECT_FALSE(registry_->thing("AMR-001").has_value());
}

TEST_F(FleetProvisioningFlow, ADeletedCertificateInvalidatesItsToken) {
    auto fp = make();
    const auto c = create(fp);
    registry_->update([&](localcore::RegistryData& d) { d.certificates.erase(c.id); });
    expect_rejected(register_thing(fp, c.token, R"({"SerialNumber": "AMR-001"})"), kRegisterAmr, 400,
                    "InvalidCertificateOwnershipToken", "no longer exists");
}

TEST_F(FleetProvisioningFlow, CborIsRejectedWithAClearMessage) {
    auto fp = make();
    for (const std::string topic : {"$aws/certificates/create/cbor", "$aws/certificates/create-from-csr/cbor",
                                    "$aws/provisioning-templates/amr/provision/cbor"}) {
        auto r = call(fp, topic, "");
        expect_rejected(r, topic, 400, "UnsupportedPayloadFormat", "only the json payload format");
        EXPECT_THAT(r.str("errorMessage"), HasSubstr(topic.substr(0, topic.size() - 4) + "json"));
    }
    EXPECT_TRUE(registry_->certificates().empty());
}

TEST_F(FleetProvisioningFlow, TooManyPendingCertificatesAreThrottled) {
    options_.max_pending_certificates = 2;
    auto fp = make();
    const auto a = create(fp);
    (void)create(fp);
    expect_rejected(call(fp, kCreate, "{}"), kCreate, 429, "ThrottlingException",
                    "2 certificates are awaiting");
    expect_rejected(call(fp, kCreateFromCsr,
                         R"({"certificateSigningRequest": )" + json_string(make_csr("P-256", "x").pem) + "}"),
                    kCreateFromCsr, 429, "ThrottlingException", "awaiting RegisterThing");
    EXPECT_EQ(registry_->certificates().size(), 2u);
    ASSERT_THAT(register_thing(fp, a.token, R"({"SerialNumber": "AMR-001"})").topic,
                ::testing::EndsWith("/accepted"));
    EXPECT_EQ(call(fp, kCreate, "{}").topic, std::string(kCreate) + "/accepted");
}

TEST_F(FleetProvisioningFlow, IssuedCertificatesUseTheConfiguredLifetime) {
    options_.certificate_lifetime = std::chrono::hours(48);
    auto fp = make();
    const auto c = create(fp);
    auto cert = parse_cert(c.pem);
    int days = 0, secs = 0;
    ASSERT_EQ(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(cert.get()), X509_get0_notAfter(cert.get())),
              1);
    EXPECT_EQ(days * 86400LL + secs, 48 * 3600LL + 60);  // the CA back-dates notBefore by a minute
}

}  // namespace
}  // namespace localcore::test
