// Persistent sessions (docs/aws-iot-core.md section 3.4): QoS 1 messages published while a
// clean-session-off client is away are queued and delivered when it returns (iot:Receive is
// checked for them against the offline session's policies), also when the broker restarted in
// between (the session then comes from mosquitto's persistence and the plugin's session records).
#include <gtest/gtest.h>

#include <fstream>

#include "localcore_fixture.hpp"
#include "sha256_hex.hpp"

namespace localcore::conformance {
namespace {

// A writer allowed to publish on every AMR's command topic, like the operators' console.
const char* const kWriterPolicy = R"({
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": ["iot:Connect"], "Resource": ["arn:aws:iot:*:*:client/writer-*"]},
    {"Effect": "Allow", "Action": ["iot:Publish"], "Resource": ["arn:aws:iot:*:*:topic/amr/*"]}
  ]
})";

// AMR-001's command topic: the one every test queues messages on.
const char* const kCalls = "amr/AMR-001/cmd/call";

class ConformanceSession : public LocalCoreTest {
protected:
    // Every test publishes to AMR-001's command topic as the writer, from outside its session.
    void SetUp() override {
        LocalCoreTest::SetUp();
        lc->put_policy("writer", kWriterPolicy);
        writer = lc->issue_claim_cert("writer", "writer");
    }
    // One QoS 1 message on kCalls from the writer; mosquitto_pub's exit status.
    int publish_call(const std::string& payload) {
        return lc->pub(writer, "writer-1", kCalls, payload, 1).status;
    }
    // mosquitto_sub with clean session off (-c) as AMR-001, QoS 1; extra options appended.
    CommandResult persistent_sub(const std::vector<std::string>& filters, const std::vector<std::string>& extra) {
        auto args = lc->client_args("/usr/bin/mosquitto_sub", lc->amr1, "AMR-001", Mqtt::v311);
        args.insert(args.end(), {"-c", "-q", "1", "-v"});
        for (const auto& f : filters) args.insert(args.end(), {"-t", f});
        args.insert(args.end(), extra.begin(), extra.end());
        return run_program(args, lc->fresh_path("persistent-sub") += ".log", 20s);
    }
    // AMR-001's persistent session on kCalls, left at once (-E: exit after the SUBACK): the
    // session stays, so what the writer publishes next is queued for it. Call it through
    // ASSERT_NO_FATAL_FAILURE.
    void leave_a_persistent_session() {
        const auto first = persistent_sub({kCalls}, {"-E"});
        ASSERT_EQ(first.status, 0) << first.output;
    }
    // The same session resumed by a long-running mosquitto_sub (-c, QoS 1, -d -v), its SUBACK seen.
    std::unique_ptr<Subscriber> resume(const std::string& filter, Mqtt version = Mqtt::v311,
                                       const std::vector<std::string>& extra = {}) {
        auto args = lc->client_args("/usr/bin/mosquitto_sub", lc->amr1, "AMR-001", version);
        args.insert(args.begin(), {"/usr/bin/stdbuf", "-oL"});  // -d lines unbuffered (see LocalCore::sub)
        args.insert(args.end(), {"-c", "-q", "1", "-v", "-t", filter, "-W", "20"});
        args.insert(args.end(), extra.begin(), extra.end());
        auto s = std::make_unique<Subscriber>(args, lc->fresh_path("resumed-sub") += ".log");
        if (!s->wait_suback(10s)) ADD_FAILURE() << "no SUBACK on resume:\n" << s->output();
        return s;
    }
    // Publishes "marker" to the resumed session and waits for it. Deliveries keep their order, so
    // once it has arrived, anything still queued for the session has arrived before it.
    bool marker_arrives(const Subscriber& s) {
        if (publish_call("marker") != 0) return false;
        return s.wait_message([](const Subscriber::Message& m) { return m.payload == "marker"; }).has_value();
    }
    static bool has_payload(const Subscriber& s, const std::string& payload) {
        for (const auto& m : s.messages())
            if (m.payload == payload) return true;
        return false;
    }

    Identity writer;
};

TEST_F(ConformanceSession, QueuedMessagesReachAPersistentSessionWhenItReturns) {
    ASSERT_NO_FATAL_FAILURE(leave_a_persistent_session());

    // Published while AMR-001 is away.
    ASSERT_EQ(publish_call(R"({"id":"queued-1"})"), 0);

    const auto back = persistent_sub({kCalls}, {"-C", "1", "-W", "10"});
    EXPECT_EQ(back.status, 0) << back.output << "\n--- broker log:\n" << lc->broker_log();
    EXPECT_NE(back.output.find(R"(amr/AMR-001/cmd/call {"id":"queued-1"})"), std::string::npos) << back.output;
}

// The soak benchmark's defect: after a broker restart, mosquitto restores the session from its
// persistence file, but the plugin knew nothing about the restored client and refused every
// delivery to it, so the messages published while the client was away were lost.
TEST_F(ConformanceSession, QueuedMessagesSurviveABrokerRestartWhileTheSessionIsOffline) {
    ASSERT_NO_FATAL_FAILURE(leave_a_persistent_session());

    lc->restart_broker();
    for (int i = 1; i <= 3; ++i) ASSERT_EQ(publish_call("after-restart-" + std::to_string(i)), 0);

    const auto back = persistent_sub({kCalls}, {"-C", "3", "-W", "10"});
    EXPECT_EQ(back.status, 0) << back.output << "\n--- broker log:\n" << lc->broker_log();
    for (int i = 1; i <= 3; ++i)
        EXPECT_NE(back.output.find("amr/AMR-001/cmd/call after-restart-" + std::to_string(i)), std::string::npos)
            << back.output;
}

// The same with an MQTT 5 session (clean start off, session expiry 1 h: AWS's default).
TEST_F(ConformanceSession, AnMqtt5SessionWithExpiryKeepsItsMessagesAcrossARestart) {
    auto args = lc->client_args("/usr/bin/mosquitto_sub", lc->amr1, "AMR-001", Mqtt::v5);
    args.insert(args.end(), {"-c", "-x", "3600", "-q", "1", "-v", "-t", kCalls, "-E"});
    const auto first = run_program(args, lc->fresh_path("v5-sub") += ".log", 20s);
    ASSERT_EQ(first.status, 0) << first.output;

    lc->restart_broker();
    ASSERT_EQ(publish_call("v5-after-restart"), 0);

    const auto s = resume(kCalls, Mqtt::v5, {"-x", "3600"});
    EXPECT_TRUE(s->wait_message([](const Subscriber::Message& m) { return m.payload == "v5-after-restart"; }))
        << s->output() << "\n--- broker log:\n" << lc->broker_log();
}

// iot:Receive still decides for a restored session, with the certificate's current status: once
// it is deactivated, nothing more is queued for the session (AWS: a certificate that is not
// ACTIVE gets nothing), even after it is made ACTIVE again and the client returns.
TEST_F(ConformanceSession, ARestoredSessionWhoseCertificateWasDeactivatedGetsNothing) {
    ASSERT_NO_FATAL_FAILURE(leave_a_persistent_session());

    lc->restart_broker();
    lc->cli({"set-cert-status", lc->amr1.cert_id, "INACTIVE"});
    ASSERT_EQ(publish_call("while-inactive"), 0);
    lc->cli({"set-cert-status", lc->amr1.cert_id, "ACTIVE"});

    const auto s = resume(kCalls);
    ASSERT_TRUE(marker_arrives(*s)) << s->output() << "\n--- broker log:\n" << lc->broker_log();
    EXPECT_FALSE(has_payload(*s, "while-inactive")) << s->output();
}

// The same when the session's state was already restored (a delivery went through) before the
// certificate was deactivated: the registry poll ends the session.
TEST_F(ConformanceSession, ASessionEndsWhenItsCertificateIsDeactivatedAfterTheRestart) {
    ASSERT_NO_FATAL_FAILURE(leave_a_persistent_session());

    lc->restart_broker();
    ASSERT_EQ(publish_call("before-deactivation"), 0);
    lc->cli({"set-cert-status", lc->amr1.cert_id, "INACTIVE"});
    ASSERT_TRUE(lc->wait_broker_log("persistent session of 'AMR-001' ended", 5s)) << lc->broker_log();
    ASSERT_EQ(publish_call("while-inactive"), 0);
    lc->cli({"set-cert-status", lc->amr1.cert_id, "ACTIVE"});

    const auto s = resume(kCalls);
    ASSERT_TRUE(marker_arrives(*s)) << s->output() << "\n--- broker log:\n" << lc->broker_log();
    EXPECT_TRUE(has_payload(*s, "before-deactivation")) << s->output();
    EXPECT_FALSE(has_payload(*s, "while-inactive")) << s->output();
}

// A damaged session record is not trusted: the restored session gets nothing, and the broker log
// names the file.
TEST_F(ConformanceSession, ADamagedSessionRecordEndsTheSessionAndNamesTheFile) {
    ASSERT_NO_FATAL_FAILURE(leave_a_persistent_session());

    lc->stop_broker();
    const fs::path record = lc->data_dir() / "sessions" / (sha256_hex("AMR-001") + ".json");
    ASSERT_TRUE(fs::exists(record));
    std::ofstream(record, std::ios::trunc) << "{not json";
    lc->start_broker();
    ASSERT_EQ(publish_call("after-damage"), 0);
    EXPECT_TRUE(lc->wait_broker_log("persistent session of 'AMR-001' ended: " + record.string() +
                                    " is not a JSON object"))
        << lc->broker_log();

    const auto s = resume(kCalls);
    ASSERT_TRUE(marker_arrives(*s)) << s->output();
    EXPECT_FALSE(has_payload(*s, "after-damage")) << s->output();
    EXPECT_TRUE(fs::exists(record)) << "the returning session records its owner again";
}

// AWS ends a persistent session an hour after its client went away (the default); without this
// line mosquitto keeps MQTT 3.1.1 sessions, and their queued messages, forever.
TEST(ConformanceSessionConfig, TheGeneratedConfigEndsPersistentSessionsAfterAnHour) {
    LocalCore lc;
    const std::string conf = lc.cli({"mosquitto-conf", "--plugin", LOCALCORE_PLUGIN});
    EXPECT_NE(conf.find("\npersistent_client_expiration 1h\n"), std::string::npos) << conf;
}

}  // namespace
}  // namespace localcore::conformance
