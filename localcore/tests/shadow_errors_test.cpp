// ShadowService rejections: malformed requests, limits, and damaged files. Every rejection must
// leave the stored shadow exactly as it was.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "atomic_file.hpp"
#include "shadow.hpp"
#include "shadow_test_helpers.hpp"
#include "test_support.hpp"

// In the helpers' namespace, inside localcore: the service and the helpers need no using.
namespace localcore::shadow_test {
namespace {

namespace fs = std::filesystem;
using iotgw::test::TempDir;
using rapidjson::Document;
using ::testing::HasSubstr;

constexpr std::int64_t kNowMs = 1'700'000'000'000;

// {"k": {"k": ... {"k": 1}}} with `levels` objects: nesting depth `levels`.
std::string nested(int levels) {
    std::string s = "1";
    for (int i = 0; i < levels; ++i) s = R"({"k":)" + s + "}";
    return s;
}

class ShadowErrorsTest : public ::testing::Test {
protected:
    ShadowErrorsTest() { use_limits(ShadowLimits{}); }
    void use_limits(const ShadowLimits& limits) {
        // Many requests at one instant: the rate limit has its own tests (shadow_rate_test.cpp).
        ShadowLimits unthrottled = limits;
        unthrottled.requests_per_second_per_thing = 0;
        service_ = std::make_unique<ShadowService>(dir_.path(), unthrottled);
        service_->set_error_sink([this](std::string_view why) { errors_.emplace_back(why); });
    }
    std::vector<OutboundMessage> send(const std::string& topic, const std::string& payload) {
        const auto t = localcore::parse_shadow_request_topic(topic);
        if (!t) {
            ADD_FAILURE() << "not a shadow request topic: " << topic;
            return {};
        }
        return service_->handle(*t, payload, kNowMs);
    }
    // Sends a request that must be rejected with `code`/`message`; returns the rejection.
    Document rejected(const std::string& topic, const std::string& payload, int code,
                      const std::string& message) {
        const auto msgs = send(topic, payload);
        if (msgs.size() != 1 || msgs[0].topic != topic + "/rejected") {
            ADD_FAILURE() << "expected one rejection for " << payload << ", got " << msgs.size()
                          << " messages, first: "
                          << (msgs.empty() ? "" : msgs[0].topic + " " + msgs[0].payload);
            return parse("{}");
        }
        Document d = parse(msgs[0].payload);
        const bool shaped = d.IsObject() && d.HasMember("code") && d["code"].IsInt() &&
                            d.HasMember("message") && d["message"].IsString() && d.HasMember("timestamp") &&
                            d["timestamp"].IsInt64();
        if (!shaped) {
            ADD_FAILURE() << "not an AWS error document: " << msgs[0].payload;
            return d;
        }
        EXPECT_EQ(d["code"].GetInt(), code) << payload;
        EXPECT_EQ(std::string(d["message"].GetString()), message) << payload;
        EXPECT_EQ(d["timestamp"].GetInt64(), kNowMs / 1000);
        return d;
    }
    void accepted_update(const std::string& prefix, const std::string& payload) {
        const auto msgs = send(prefix + "/update", payload);
        ASSERT_FALSE(msgs.empty());
        ASSERT_EQ(msgs[0].topic, prefix + "/update/accepted") << msgs[0].payload;
    }
    std::string file(const std::string& name = "$classic") const {
        return *localcore::read_file_if_exists(dir_.path() / "shadows" / "AMR-001" / (name + ".json"));
    }

    TempDir dir_;
    std::vector<std::string> errors_;
    std::unique_ptr<ShadowService> service_;
};

TEST_F(ShadowErrorsTest, InvalidJsonIs400) {
    for (const char* payload :
         {"{", R"({"state":})", "not json", R"({"state":{}} trailing)", "{'state':{}}", ""})
        rejected(kClassic + "/update", payload, 400, "Invalid JSON");
    rejected(kClassic + "/get", "{", 400, "Invalid JSON");
    rejected(kClassic + "/delete", "nope", 400, "Invalid JSON");
    rejected(kClassic + "/update", std::string(R"({"state":{}})") + '\0', 400, "Invalid JSON");
    EXPECT_FALSE(fs::exists(dir_.path() / "shadows"));
}

// Found by the shadow_request fuzzer: RapidJSON keeps both members of a duplicated key and its
// operator== sees only the first, so a stored {"k":1,"k":2} did not equal itself and every later
// update answered with a delta that could never clear.
TEST_F(ShadowErrorsTest, ADuplicatedKeyAnywhereIsRefusedAndNothingIsStored) {
    const std::string u = kClassic + "/update";
    const Document d = rejected(u, R"({"state":{"desired":{"a":[{"k":1,"k":2}]}},"clientToken":"dup"})", 400,
                                "Invalid JSON");
    EXPECT_EQ(token_of(d), "dup");
    rejected(u, R"({"state":{"reported":{"a":1,"a":1}}})", 400, "Invalid JSON");
    rejected(u, R"({"state":{"desired":{}},"state":{"desired":{"x":1}}})", 400, "Invalid JSON");
    EXPECT_FALSE(fs::exists(dir_.path() / "shadows"));
}

TEST_F(ShadowErrorsTest, UpdateMustBeAnObject) {
    for (const char* payload : {"[]", "5", R"("state")", "null"})
        rejected(kClassic + "/update", payload, 400, "Invalid JSON");
}

TEST_F(ShadowErrorsTest, NonUtf8Is415AndStillEchoesTheToken) {
    const Document d =
        rejected(kClassic + "/update", "{\"state\":{\"desired\":{\"a\":\"\xff\"}},\"clientToken\":\"tok\"}",
                 415, "Unsupported documented encoding; supported encoding is UTF-8");
    EXPECT_EQ(token_of(d), "tok");
    // A token that is itself not UTF-8 cannot be echoed into a JSON reply.
    const Document bad = rejected(kClassic + "/get", "{\"clientToken\":\"\xc3\"}", 415,
                                  "Unsupported documented encoding; supported encoding is UTF-8");
    EXPECT_FALSE(bad.HasMember("clientToken"));
}

TEST_F(ShadowErrorsTest, StateNodeRules) {
    const std::string u = kClassic + "/update";
    rejected(u, R"({"desired":{"a":1}})", 400, "Missing required node: state");
    rejected(u, R"({"clientToken":"x"})", 400, "Missing required node: state");
    for (const char* state : {"5", R"("x")", "[]", "true"})
        rejected(u, std::string(R"({"state":)") + state + "}", 400, "State node must be an object");
    for (const char* v : {"5", R"("RED")", "[1]", "false"}) {
        rejected(u, std::string(R"({"state":{"desired":)") + v + "}}", 400, "Desired node must be an object");
        rejected(u, std::string(R"({"state":{"reported":)") + v + "}}", 400,
                 "Reported node must be an object");
    }
    rejected(u, R"({"state":{"desired":{"a":1},"delta":{"a":1}}})", 400,
             "State contains an invalid node: 'delta'");
    rejected(u, R"({"state":{"Desired":{}}})", 400, "State contains an invalid node: 'Desired'");
    rejected(u, R"({"state":{"metadata":null}})", 400, "State contains an invalid node: 'metadata'");
    EXPECT_FALSE(fs::exists(dir_.path() / "shadows"));
}

TEST_F(ShadowErrorsTest, InvalidVersion) {
    for (const char* v : {R"("10")", "1.5", "null", "true", "18446744073709551615", "{}"})
        rejected(kClassic + "/update", std::string(R"({"state":{},"version":)") + v + "}", 400,
                 "Invalid version");
}

TEST_F(ShadowErrorsTest, ClientTokenLimit) {
    const std::string long_token(65, 't');
    for (const char* op : {"/get", "/update", "/delete"}) {
        const Document d = rejected(kClassic + op, R"({"state":{},"clientToken":")" + long_token + "\"}", 400,
                                    "Invalid clientToken");
        EXPECT_EQ(token_of(d), long_token);
    }
    const Document d =
        rejected(kClassic + "/update", R"({"state":{},"clientToken":5})", 400, "Invalid clientToken");
    EXPECT_FALSE(d.HasMember("clientToken"));
    accepted_update(kClassic, R"({"state":{},"clientToken":")" + std::string(64, 't') + "\"}");

    ShadowLimits small;
    small.max_client_token_bytes = 8;
    use_limits(small);
    rejected(kClassic + "/get", R"({"clientToken":"123456789"})", 400, "Invalid clientToken");
}

TEST_F(ShadowErrorsTest, NullInsideArraysIsRejectedAndChangesNothing) {
    accepted_update(kClassic, R"({"state":{"desired":{"colors":["RED"]}}})");
    const std::string before = file();
    rejected(kClassic + "/update", R"({"state":{"desired":{"colors":[null,"RED","GREEN"]}}})", 400,
             "Invalid JSON: arrays cannot contain null (at state.desired.colors[0])");
    rejected(kClassic + "/update", R"({"state":{"reported":{"w":[{"x":1},{"y":null}]}}})", 400,
             "Invalid JSON: arrays cannot contain null (at state.reported.w[1].y)");
    EXPECT_EQ(file(), before);
}

TEST_F(ShadowErrorsTest, DepthLimitCountsTheSectionItself) {
    // desired's object is level 1: six levels pass, seven do not.
    accepted_update(kClassic, R"({"state":{"desired":)" + nested(6) + "}}");
    const std::string too_deep = "JSON contains too many levels of nesting; maximum is 6";
    rejected(kClassic + "/update", R"({"state":{"desired":)" + nested(7) + "}}", 400, too_deep);
    rejected(kClassic + "/update", R"({"state":{"reported":)" + nested(7) + "}}", 400, too_deep);
    // Arrays are levels too.
    accepted_update(kClassic, R"({"state":{"reported":{"a":{"b":{"c":{"d":{"e":[1]}}}}}}})");
    rejected(kClassic + "/update", R"({"state":{"reported":{"a":{"b":{"c":{"d":{"e":[[1]]}}}}}}})", 400,
             too_deep);
    EXPECT_EQ(parse(file())["version"].GetInt64(), 2);
}

TEST_F(ShadowErrorsTest, DepthLimitIsConfigurable) {
    ShadowLimits limits;
    limits.max_depth = 3;
    use_limits(limits);
    accepted_update(kClassic, R"({"state":{"desired":)" + nested(3) + "}}");
    rejected(kClassic + "/update", R"({"state":{"desired":)" + nested(4) + "}}", 400,
             "JSON contains too many levels of nesting; maximum is 3");
}

TEST_F(ShadowErrorsTest, HugeNestingIsRejectedWithoutCrashing) {
    const std::string deep = std::string(60000, '[') + std::string(60000, ']');
    rejected(kClassic + "/update", R"({"state":{"desired":{"a":)" + deep + "}},\"clientToken\":\"deep\"}",
             400, "JSON contains too many levels of nesting; maximum is 6");
    // Outside state, nesting within the parser's limit (64 levels) is ignored; beyond it the
    // whole request is refused before anything is looked at.
    accepted_update(kClassic, R"({"state":{},"junk":)" + std::string(60, '[') + std::string(60, ']') + "}");
    rejected(kClassic + "/update", R"({"state":{},"junk":)" + deep + "}", 400,
             "JSON contains too many levels of nesting; maximum is 6");
}

// 131,000 unclosed brackets (as deep as fits in the 128 KB request limit) on every operation:
// the parse stops at level 65 and answers with AWS's nesting error.
TEST_F(ShadowErrorsTest, AnUnclosedDeepNestingIsRejectedOnEveryOperation) {
    const std::string deep(131000, '[');
    for (const std::string& prefix : {kClassic, kNamed})
        for (const char* op : {"/get", "/update", "/delete"})
            rejected(prefix + op, deep, 400, "JSON contains too many levels of nesting; maximum is 6");
}

TEST_F(ShadowErrorsTest, StateSizeLimitCountsDesiredPlusReportedAfterTheMerge) {
    // {"k":"<n x>"} is n + 8 bytes: 8184 x's make exactly 8192, the limit, accepted even though
    // the metadata adds more (it does not count).
    accepted_update(kClassic, R"({"state":{"desired":{"k":")" + std::string(8184, 'x') + R"("}}})");
    const std::string before = file();
    rejected(kClassic + "/update", R"({"state":{"desired":{"k":")" + std::string(8185, 'x') + R"("}}})", 413,
             "The payload exceeds the maximum size allowed");
    // Small on its own, too big merged with what is stored.
    rejected(kClassic + "/update", R"({"state":{"reported":{"r":1}}})", 413,
             "The payload exceeds the maximum size allowed");
    EXPECT_EQ(file(), before);
    // Shrinking is fine.
    accepted_update(kClassic, R"({"state":{"desired":{"k":"small"},"reported":{"r":1}}})");
}

TEST_F(ShadowErrorsTest, RequestSizeLimit) {
    ShadowLimits limits;
    limits.max_request_bytes = 256;
    use_limits(limits);
    std::string payload = R"({"clientToken":"big","state":{"reported":{"pad":")";
    payload += std::string(256 - payload.size() - 4, 'p') + R"("}}})";
    ASSERT_EQ(payload.size(), 256u);
    accepted_update(kClassic, payload);
    payload.insert(payload.find("pp"), "p");
    for (const char* op : {"/update", "/get", "/delete"}) {
        const Document d =
            rejected(kClassic + op, payload, 413, "The payload exceeds the maximum size allowed");
        EXPECT_EQ(token_of(d), "big");
    }
    EXPECT_EQ(parse(file())["version"].GetInt64(), 1);
}

TEST_F(ShadowErrorsTest, VersionConflictChangesNothing) {
    accepted_update(kClassic, R"({"state":{"desired":{"a":1}}})");
    const std::string before = file();
    rejected(kClassic + "/update", R"({"state":{"desired":{"a":2}},"version":0})", 409, "Version conflict");
    rejected(kClassic + "/update", R"({"state":{"desired":{"a":2}},"version":-1})", 409, "Version conflict");
    EXPECT_EQ(file(), before);
}

TEST_F(ShadowErrorsTest, CorruptFileIs500AndLeftUntouched) {
    accepted_update(kClassic, R"({"state":{"desired":{"a":1}}})");
    accepted_update(kNamed, R"({"state":{"desired":{"b":1}}})");
    const fs::path path = dir_.path() / "shadows" / "AMR-001" / "$classic.json";
    const std::string garbage = "{\"format_version\":1,\"version\":1,\"state\":{\"desired\":{\"a\":1";
    localcore::write_file_atomic(path, garbage);

    for (const char* op : {"/get", "/update", "/delete"}) {
        const Document d = rejected(kClassic + op, R"({"state":{"desired":{"a":2}},"clientToken":"c"})", 500,
                                    "Internal service failure");
        EXPECT_EQ(token_of(d), "c");
    }
    EXPECT_EQ(*localcore::read_file_if_exists(path), garbage);
    ASSERT_EQ(errors_.size(), 3u);
    EXPECT_THAT(errors_[0], HasSubstr(path.string()));
    EXPECT_THAT(errors_[0], HasSubstr("corrupt"));

    // The other shadow of the same thing is unaffected.
    accepted_update(kNamed, R"({"state":{"desired":{"b":2}}})");
}

TEST_F(ShadowErrorsTest, WrongShapeFilesAre500) {
    const fs::path path = dir_.path() / "shadows" / "AMR-001" / "$classic.json";
    fs::create_directories(path.parent_path());
    const std::string deep = std::string(5000, '[') + std::string(5000, ']');
    for (const std::string& content : {
             std::string("[]"),
             std::string(R"({"version":1,"state":{},"metadata":{}})"),  // no format_version
             std::string(R"({"format_version":2,"version":1,"state":{},"metadata":{}})"),    // newer format
             std::string(R"({"format_version":1,"version":"1","state":{},"metadata":{}})"),  // version type
             std::string(R"({"format_version":1,"version":1,"state":[],"metadata":{}})"),
             std::string(R"({"format_version":1,"version":1,"state":{"desired":1},"metadata":{}})"),
             std::string(R"({"format_version":1,"version":1,"state":{"delta":{}},"metadata":{}})"),
             std::string(R"({"format_version":1,"version":1,"state":{}})"),
             std::string(R"({"format_version":1,"version":1,"deleted":"yes"})"),
             R"({"format_version":1,"version":1,"state":{"desired":{"a":)" + deep + R"(}},"metadata":{}})",
         }) {
        localcore::write_file_atomic(path, content);
        rejected(kClassic + "/get", "", 500, "Internal service failure");
        rejected(kClassic + "/update", R"({"state":{}})", 500, "Internal service failure");
        EXPECT_EQ(*localcore::read_file_if_exists(path), content);
    }
}

TEST_F(ShadowErrorsTest, WriteFailureIs500) {
    // The thing's directory is a dangling symlink: reading finds no shadow, creating one fails.
    fs::create_directories(dir_.path() / "shadows");
    fs::create_directory_symlink(dir_.path() / "nowhere", dir_.path() / "shadows" / "AMR-001");
    rejected(kClassic + "/update", R"({"state":{"reported":{"a":1}},"clientToken":"w"})", 500,
             "Internal service failure");
    ASSERT_EQ(errors_.size(), 1u);
    EXPECT_THAT(errors_[0], HasSubstr("AMR-001"));
    EXPECT_FALSE(fs::exists(dir_.path() / "nowhere"));
}

}  // namespace
}  // namespace localcore::shadow_test
