// iotgw::sdk::parse_json: the iterative, depth-limited parse every payload from outside goes through.
#include <iotgw/sdk/json_parse.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>

namespace {

using iotgw::sdk::JsonError;
using iotgw::sdk::JsonUtf8;
using iotgw::sdk::parse_json;

std::string nested_arrays(std::size_t levels) { return std::string(levels, '[') + std::string(levels, ']'); }

TEST(JsonParse, ParsesADocument) {
    rapidjson::Document doc;
    const auto r = parse_json(doc, R"({"a":[1,{"b":"c"}],"d":null})");
    ASSERT_TRUE(r) << r.message;
    EXPECT_EQ(r.error, JsonError::none);
    EXPECT_EQ(r.message, "");
    ASSERT_TRUE(doc.IsObject());
    EXPECT_STREQ(doc["a"][1]["b"].GetString(), "c");
    EXPECT_TRUE(doc["d"].IsNull());
}

TEST(JsonParse, SixtyFourLevelsAreAcceptedSixtyFiveAreNot) {
    rapidjson::Document doc;
    EXPECT_TRUE(parse_json(doc, nested_arrays(64)));
    EXPECT_TRUE(doc.IsArray());
    const auto r = parse_json(doc, nested_arrays(65));
    EXPECT_FALSE(r);
    EXPECT_EQ(r.error, JsonError::too_deep);
    EXPECT_EQ(r.offset, 64u);  // the bracket that opens level 65
    EXPECT_EQ(r.message, "nesting deeper than 64 at offset 64");
    EXPECT_TRUE(doc.IsNull()) << "a failed parse leaves no partial document";
}

TEST(JsonParse, ObjectsCountAsLevelsAndTheLimitIsAParameter) {
    rapidjson::Document doc;
    EXPECT_TRUE(parse_json(doc, R"({"a":[1]})", 2));
    const auto r = parse_json(doc, R"({"a":[{"b":1}]})", 2);
    EXPECT_EQ(r.error, JsonError::too_deep);
    EXPECT_EQ(r.message, "nesting deeper than 2 at offset 6");
}

// The case that crashed the broker: RapidJSON's recursive parser overflows the stack long before
// the end of 200,000 unclosed brackets. This one stops at level 65 and never recurses.
TEST(JsonParse, TwoHundredThousandUnclosedBracketsStopAtTheLimit) {
    rapidjson::Document doc;
    const auto r = parse_json(doc, std::string(200000, '['));
    EXPECT_EQ(r.error, JsonError::too_deep);
    EXPECT_EQ(r.offset, 64u);
    const auto objects = parse_json(doc, std::string(100000, '{'));  // not even valid: a key is missing
    EXPECT_EQ(objects.error, JsonError::syntax) << objects.message;
    std::string keyed;
    for (int i = 0; i < 50000; ++i) keyed += R"({"k":)";
    EXPECT_EQ(parse_json(doc, keyed).error, JsonError::too_deep);
}

TEST(JsonParse, SyntaxErrorsSayWhatAndWhere) {
    rapidjson::Document doc;
    auto r = parse_json(doc, R"({"a":})");
    EXPECT_EQ(r.error, JsonError::syntax);
    EXPECT_EQ(r.offset, 5u);
    EXPECT_EQ(r.message, "Invalid value at offset 5");
    r = parse_json(doc, "");
    EXPECT_EQ(r.error, JsonError::syntax);
    EXPECT_EQ(r.message, "The document is empty at offset 0");
    r = parse_json(doc, "{} x");
    EXPECT_EQ(r.error, JsonError::syntax);
    EXPECT_EQ(r.message, "The document root must not be followed by other values at offset 3");
}

// RapidJSON reads a NUL as the end of the text, so "{}\0junk" would parse as {}: refused instead.
TEST(JsonParse, ARawNulByteIsRefused) {
    rapidjson::Document doc;
    const auto r = parse_json(doc, std::string("{}\0junk", 7));
    EXPECT_EQ(r.error, JsonError::nul_byte);
    EXPECT_EQ(r.message, "NUL byte at offset 2");
    EXPECT_TRUE(doc.IsNull());
}

TEST(JsonParse, InvalidUtf8InAStringIsRefusedUnlessAsked) {
    const std::string text = "{\"a\":\"\xff\",\"clientToken\":\"t\"}";
    rapidjson::Document doc;
    const auto r = parse_json(doc, text);
    EXPECT_EQ(r.error, JsonError::encoding);
    EXPECT_EQ(r.offset, 6u);
    ASSERT_TRUE(parse_json(doc, text, iotgw::sdk::kJsonMaxDepth, JsonUtf8::as_is));
    EXPECT_STREQ(doc["clientToken"].GetString(), "t");
}

TEST(JsonParse, AFailureReplacesAnEarlierDocument) {
    rapidjson::Document doc;
    ASSERT_TRUE(parse_json(doc, R"({"a":1})"));
    EXPECT_FALSE(parse_json(doc, "nope"));
    EXPECT_TRUE(doc.IsNull());
}

}  // namespace

// Every double written with 17 significant digits (what RapidJSON's Writer and printf("%.17g")
// produce) parses back to the same bits. RapidJSON's own conversion missed 458.12455122160236 by
// one unit in the last place, and so would have changed a position stored in a shadow.
TEST(JsonParse, NumbersComeBackBitForBit) {
    rapidjson::Document doc;
    for (const char* text : {"458.12455122160236", "113.17408141314563", "1.3927926388013963e-143",
                             "1.7161392603081718e+277", "0.1", "-2.2250738585072014e-308", "5e-324"}) {
        ASSERT_TRUE(parse_json(doc, text)) << text;
        ASSERT_TRUE(doc.IsDouble()) << text;
        EXPECT_EQ(doc.GetDouble(), std::strtod(text, nullptr)) << text;
    }
    std::mt19937_64 random(20261205);
    std::uniform_real_distribution<double> coordinate(-1000.0, 1000.0);
    int changed = 0;
    for (int i = 0; i < 20000; ++i) {
        const double d = coordinate(random);
        char text[32];
        std::snprintf(text, sizeof text, "%.17g", d);
        ASSERT_TRUE(parse_json(doc, text)) << text;
        if (doc.GetDouble() != d) ++changed;
    }
    EXPECT_EQ(changed, 0) << "of 20,000 random coordinates written with 17 digits";
}

TEST(JsonParse, IntegersKeepTheKindsRapidJsonGivesThem) {
    rapidjson::Document doc;
    ASSERT_TRUE(parse_json(doc, R"([0, -0, 42, -7, 4294967296, -9223372036854775808, 18446744073709551615,
                                    18446744073709551616, -0.0, 1e2])"));
    const auto& a = doc.GetArray();
    EXPECT_TRUE(a[0].IsInt() && a[0].GetInt() == 0);
    EXPECT_TRUE(a[1].IsInt() && a[1].GetInt() == 0);  // RapidJSON reads "-0" as the integer 0
    EXPECT_TRUE(a[2].IsUint() && a[2].GetUint() == 42u);
    EXPECT_TRUE(a[3].IsInt() && a[3].GetInt() == -7);
    EXPECT_TRUE(a[4].IsUint64() && !a[4].IsUint() && a[4].GetUint64() == 4294967296u);
    EXPECT_TRUE(a[5].IsInt64() && a[5].GetInt64() == std::numeric_limits<std::int64_t>::min());
    EXPECT_TRUE(a[6].IsUint64() && a[6].GetUint64() == std::numeric_limits<std::uint64_t>::max());
    EXPECT_TRUE(a[7].IsDouble() && a[7].GetDouble() == 18446744073709551616.0);  // beyond 64 bits
    EXPECT_TRUE(a[8].IsDouble() && std::signbit(a[8].GetDouble()));
    EXPECT_TRUE(a[9].IsDouble() && a[9].GetDouble() == 100.0);
}

TEST(JsonParse, NumbersBeyondADoubleAreRefusedAndTinyOnesBecomeZero) {
    rapidjson::Document doc;
    auto r = parse_json(doc, R"({"x": 1e400})");
    EXPECT_EQ(r.error, JsonError::syntax);
    EXPECT_EQ(r.message, "Number too big to be stored in double at offset 6");
    r = parse_json(doc, "[" + std::string("1") + std::string(400, '0') + "]");
    EXPECT_EQ(r.error, JsonError::syntax) << r.message;
    EXPECT_NE(r.message.find("Number too big"), std::string::npos) << r.message;
    ASSERT_TRUE(parse_json(doc, "[1e-400, -1e-400, 2e-324]"));
    EXPECT_EQ(doc[0].GetDouble(), 0.0);
    EXPECT_TRUE(std::signbit(doc[1].GetDouble()));
    EXPECT_EQ(doc[2].GetDouble(), 0.0);
}
