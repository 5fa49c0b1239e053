// iotgw::sdk::parse_json: the iterative, depth-limited parse every payload from outside goes through.
#include <iotgw/sdk/json_parse.hpp>

#include <gtest/gtest.h>

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
