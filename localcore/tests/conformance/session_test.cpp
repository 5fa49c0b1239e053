// Persistent sessions (docs/aws-iot-core.md section 3.4): QoS 1 messages published while a
// clean-session-off client is away are queued and delivered when it returns (iot:Receive is
// checked for them against the offline session's policies).
#include <gtest/gtest.h>

#include "localcore_fixture.hpp"

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

class ConformanceSession : public LocalCoreTest {
protected:
    // mosquitto_sub with clean session off (-c) as AMR-001, QoS 1; extra options appended.
    CommandResult persistent_sub(const std::vector<std::string>& filters, const std::vector<std::string>& extra) {
        auto args = lc->client_args("/usr/bin/mosquitto_sub", lc->amr1, "AMR-001", Mqtt::v311);
        args.insert(args.end(), {"-c", "-q", "1", "-v"});
        for (const auto& f : filters) args.insert(args.end(), {"-t", f});
        args.insert(args.end(), extra.begin(), extra.end());
        return run_program(args, lc->fresh_path("persistent-sub") += ".log", 20s);
    }
};

TEST_F(ConformanceSession, QueuedMessagesReachAPersistentSessionWhenItReturns) {
    lc->put_policy("writer", kWriterPolicy);
    const Identity writer = lc->issue_claim_cert("writer", "writer");

    // Subscribe, then leave at once (-E: exit after the SUBACK): the session stays.
    const auto first = persistent_sub({"amr/AMR-001/cmd/call"}, {"-E"});
    ASSERT_EQ(first.status, 0) << first.output;

    // Published while AMR-001 is away.
    ASSERT_EQ(lc->pub(writer, "writer-1", "amr/AMR-001/cmd/call", R"({"id":"queued-1"})", 1).status, 0);

    const auto back = persistent_sub({"amr/AMR-001/cmd/call"}, {"-C", "1", "-W", "10"});
    EXPECT_EQ(back.status, 0) << back.output << "\n--- broker log:\n" << lc->broker_log();
    EXPECT_NE(back.output.find(R"(amr/AMR-001/cmd/call {"id":"queued-1"})"), std::string::npos) << back.output;
}

}  // namespace
}  // namespace localcore::conformance
