// The `log` sink: line format, escaping of device data, truncation, level.
#include "config_text.hpp"
#include "gateway_harness.hpp"

#include <gtest/gtest.h>

namespace iotgw::test {
namespace {

// One message with `payload` (TOML-escaped) from a fixture source to the log sink "console".
std::string config(const std::string& payload, const std::string& log_fields) {
    return ConfigText()
        .source(
            "src", "fixture_source",
            "topic = \"amr/${thing}/status\"\npayload = \"" + payload + "\"\ninterval = \"5ms\"\ncount = 1")
        .sink("console", "log", log_fields)
        .pipeline("p", "src", {"console"});
}

TEST(LogSinkPlugin, WritesTopicQosAndPayloadAtTheConfiguredLevel) {
    GatewayHarness h;
    ASSERT_EQ(h.start(config("{\\\"state\\\":\\\"idle\\\"}", "level = \"notice\"")), "");
    ASSERT_TRUE(h.run_until([&] { return h.log().contains("sinks.console:"); })) << h.log().joined();
    EXPECT_TRUE(h.log().contains("<5>sinks.console: amr/AMR-001/status [qos=0] {\"state\":\"idle\"}"))
        << h.log().joined();
}

TEST(LogSinkPlugin, EscapesControlCharactersAndCutsLongPayloads) {
    GatewayHarness h;
    ASSERT_EQ(h.start(config("a\\u001bb\\nc-0123456789", "max_payload = 8")), "");
    ASSERT_TRUE(h.run_until([&] { return h.log().contains("sinks.console:"); })) << h.log().joined();
    EXPECT_TRUE(h.log().contains("[qos=0] a\\x1bb\\x0ac-01... (16 bytes)")) << h.log().joined();
}

TEST(LogSinkPlugin, AnUnknownLevelIsRefusedWithTheAllowedOnes) {
    GatewayHarness h;
    const std::string errors = h.load(config("x", "level = \"verbose\""));
    EXPECT_NE(errors.find("'verbose' is not an allowed value; allowed: error, warning, notice, info, debug"),
              std::string::npos)
        << errors;
}

}  // namespace
}  // namespace iotgw::test
