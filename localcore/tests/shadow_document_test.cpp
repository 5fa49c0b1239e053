// Shadow document algebra on its own: merge with metadata, delta, depth and null-in-array checks.
#include <gtest/gtest.h>

#include <string>

#include "shadow.hpp"

namespace {

namespace sh = localcore::shadow;
using rapidjson::Document;
using rapidjson::Value;

Document parse(const std::string& text) {
    Document d;
    d.Parse(text.c_str(), text.size());
    EXPECT_FALSE(d.HasParseError()) << "test JSON does not parse: " << text;
    return d;
}

::testing::AssertionResult json_eq(const Value& actual, const std::string& expected) {
    const Document want = parse(expected);
    if (actual == want) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "actual   " << sh::to_json(actual) << "\nexpected " << expected;
}

// A shadow's state and metadata as the service keeps them, plus the update operation.
class Shadow {
public:
    Shadow() {
        doc_.SetObject();
        doc_.AddMember("state", Value(rapidjson::kObjectType), doc_.GetAllocator());
        doc_.AddMember("metadata", Value(rapidjson::kObjectType), doc_.GetAllocator());
    }
    void update(const std::string& request_state, std::int64_t timestamp) {
        const Document req = parse(request_state);
        sh::merge_state(state(), metadata(), req, timestamp, doc_.GetAllocator());
    }
    Value& state() { return doc_["state"]; }
    Value& metadata() { return doc_["metadata"]; }
    Document::AllocatorType& alloc() { return doc_.GetAllocator(); }

private:
    Document doc_;
};

TEST(ShadowMerge, FirstUpdateStoresStateAndMirrorsMetadata) {
    Shadow s;
    s.update(R"({"desired":{"color":"RED","engine":{"rpm":900,"on":true}}})", 100);
    EXPECT_TRUE(json_eq(s.state(), R"({"desired":{"color":"RED","engine":{"rpm":900,"on":true}}})"));
    EXPECT_TRUE(json_eq(s.metadata(), R"({"desired":{"color":{"timestamp":100},
        "engine":{"rpm":{"timestamp":100},"on":{"timestamp":100}}}})"));
}

TEST(ShadowMerge, PartialMergeKeepsUntouchedFieldsAndTheirTimestamps) {
    Shadow s;
    s.update(R"({"desired":{"color":"RED","engine":{"rpm":900,"on":true}}})", 100);
    s.update(R"({"desired":{"engine":{"rpm":1200}},"reported":{"color":"RED"}})", 200);
    EXPECT_TRUE(json_eq(s.state(), R"({"desired":{"color":"RED","engine":{"rpm":1200,"on":true}},
        "reported":{"color":"RED"}})"));
    EXPECT_TRUE(json_eq(s.metadata(), R"({
        "desired":{"color":{"timestamp":100},"engine":{"rpm":{"timestamp":200},"on":{"timestamp":100}}},
        "reported":{"color":{"timestamp":200}}})"));
}

TEST(ShadowMerge, NullDeletesKeyAndItsMetadata) {
    Shadow s;
    s.update(R"({"desired":{"a":1,"b":{"c":2,"d":3}}})", 100);
    s.update(R"({"desired":{"a":null,"b":{"c":null},"missing":null}})", 200);
    EXPECT_TRUE(json_eq(s.state(), R"({"desired":{"b":{"d":3}}})"));
    EXPECT_TRUE(json_eq(s.metadata(), R"({"desired":{"b":{"d":{"timestamp":100}}}})"));
}

TEST(ShadowMerge, ObjectsEmptiedByTheMergeDisappear) {
    Shadow s;
    s.update(R"({"desired":{"keep":1,"b":{"c":{"d":2}}}})", 100);
    s.update(R"({"desired":{"b":{"c":{"d":null}}}})", 200);
    EXPECT_TRUE(json_eq(s.state(), R"({"desired":{"keep":1}})"));
    EXPECT_TRUE(json_eq(s.metadata(), R"({"desired":{"keep":{"timestamp":100}}})"));
    // The last key of a section gone: the section goes too.
    s.update(R"({"desired":{"keep":null}})", 300);
    EXPECT_TRUE(json_eq(s.state(), "{}"));
    EXPECT_TRUE(json_eq(s.metadata(), "{}"));
}

TEST(ShadowMerge, NewObjectsHoldingOnlyNullsOrNothingAreNotStored) {
    Shadow s;
    s.update(R"({"reported":{"a":{"b":null},"e":{},"f":{"g":{}}}})", 100);
    EXPECT_TRUE(json_eq(s.state(), "{}"));
    EXPECT_TRUE(json_eq(s.metadata(), "{}"));
}

TEST(ShadowMerge, EmptyPatchObjectChangesNothing) {
    Shadow s;
    s.update(R"({"desired":{"a":{"b":1}}})", 100);
    s.update(R"({"desired":{"a":{}}})", 200);
    EXPECT_TRUE(json_eq(s.state(), R"({"desired":{"a":{"b":1}}})"));
    EXPECT_TRUE(json_eq(s.metadata(), R"({"desired":{"a":{"b":{"timestamp":100}}}})"));
}

TEST(ShadowMerge, SectionNullRemovesTheWholeSection) {
    Shadow s;
    s.update(R"({"desired":{"a":1},"reported":{"a":2}})", 100);
    s.update(R"({"desired":null})", 200);
    EXPECT_TRUE(json_eq(s.state(), R"({"reported":{"a":2}})"));
    EXPECT_TRUE(json_eq(s.metadata(), R"({"reported":{"a":{"timestamp":100}}})"));
}

TEST(ShadowMerge, StateNullRemovesBothSections) {
    Shadow s;
    s.update(R"({"desired":{"a":1},"reported":{"a":2}})", 100);
    const Document null_state = parse("null");
    sh::merge_state(s.state(), s.metadata(), null_state, 200, s.alloc());
    EXPECT_TRUE(json_eq(s.state(), "{}"));
    EXPECT_TRUE(json_eq(s.metadata(), "{}"));
}

TEST(ShadowMerge, ArraysAreReplacedWholeWithPerElementMetadata) {
    Shadow s;
    s.update(R"({"desired":{"colors":["RED","GREEN","BLUE"]}})", 100);
    EXPECT_TRUE(json_eq(s.metadata(),
                        R"({"desired":{"colors":[{"timestamp":100},{"timestamp":100},{"timestamp":100}]}})"));
    s.update(R"({"desired":{"colors":["RED"]}})", 200);
    EXPECT_TRUE(json_eq(s.state(), R"({"desired":{"colors":["RED"]}})"));
    EXPECT_TRUE(json_eq(s.metadata(), R"({"desired":{"colors":[{"timestamp":200}]}})"));
}

TEST(ShadowMerge, ArrayElementMetadataMirrorsObjectsAndNestedArrays) {
    Shadow s;
    s.update(R"({"reported":{"wps":[{"x":1,"y":[2,3]},4]}})", 100);
    EXPECT_TRUE(json_eq(s.metadata(), R"({"reported":{"wps":[
        {"x":{"timestamp":100},"y":[{"timestamp":100},{"timestamp":100}]},{"timestamp":100}]}})"));
}

TEST(ShadowMerge, TypeChangesReplaceValueAndMetadata) {
    Shadow s;
    s.update(R"({"desired":{"a":{"b":1,"c":2},"d":5,"e":[1,2]}})", 100);
    s.update(R"({"desired":{"a":7,"d":{"x":1},"e":{"y":2}}})", 200);
    EXPECT_TRUE(json_eq(s.state(), R"({"desired":{"a":7,"d":{"x":1},"e":{"y":2}}})"));
    EXPECT_TRUE(json_eq(s.metadata(), R"({"desired":{"a":{"timestamp":200},"d":{"x":{"timestamp":200}},
        "e":{"y":{"timestamp":200}}}})"));
}

TEST(ShadowMerge, KeyNamedTimestampIsOrdinaryState) {
    Shadow s;
    s.update(R"({"reported":{"timestamp":5}})", 100);
    EXPECT_TRUE(json_eq(s.metadata(), R"({"reported":{"timestamp":{"timestamp":100}}})"));
}

TEST(ShadowMetadata, LeavesIncludingNullGetATimestamp) {
    Document d;
    const Document v = parse(R"({"a":null,"b":"x","c":[true,{"d":1.5}]})");
    EXPECT_TRUE(json_eq(sh::metadata_for(v, 42, d.GetAllocator()),
                        R"({"a":{"timestamp":42},"b":{"timestamp":42},
                            "c":[{"timestamp":42},{"d":{"timestamp":42}}]})"));
}

TEST(ShadowDelta, DesiredLeavesMissingOrDifferentInReported) {
    Document d;
    const Document desired = parse(R"({"color":"RED","engine":{"rpm":900,"on":true},"mode":"auto"})");
    const Document reported = parse(R"({"color":"GREEN","engine":{"rpm":900,"on":false},"extra":1})");
    EXPECT_TRUE(json_eq(sh::compute_delta(desired, &reported, d.GetAllocator()),
                        R"({"color":"RED","engine":{"on":true},"mode":"auto"})"));
}

TEST(ShadowDelta, NoReportedMeansAllOfDesired) {
    Document d;
    const Document desired = parse(R"({"a":{"b":[1,2]},"c":"x"})");
    EXPECT_TRUE(
        json_eq(sh::compute_delta(desired, nullptr, d.GetAllocator()), R"({"a":{"b":[1,2]},"c":"x"})"));
}

TEST(ShadowDelta, InSyncIsEmpty) {
    Document d;
    const Document desired = parse(R"({"a":{"b":[1,{"x":2,"y":3}]},"n":1})");
    const Document reported = parse(R"({"a":{"b":[1,{"y":3,"x":2}]},"n":1.0,"more":true})");
    EXPECT_TRUE(json_eq(sh::compute_delta(desired, &reported, d.GetAllocator()), "{}"));
}

TEST(ShadowDelta, ArraysCompareAsWholeValues) {
    Document d;
    const Document desired = parse(R"({"list":[1,2,3],"order":[1,2],"objs":[{"a":1}]})");
    const Document reported = parse(R"({"list":[1,2],"order":[2,1],"objs":[{"a":1}]})");
    EXPECT_TRUE(json_eq(sh::compute_delta(desired, &reported, d.GetAllocator()),
                        R"({"list":[1,2,3],"order":[1,2]})"));
}

TEST(ShadowDelta, TypeMismatchTakesTheDesiredValueWhole) {
    Document d;
    const Document desired = parse(R"({"a":{"b":1,"c":2},"d":5,"e":"1"})");
    const Document reported = parse(R"({"a":3,"d":{"x":5},"e":1})");
    EXPECT_TRUE(json_eq(sh::compute_delta(desired, &reported, d.GetAllocator()),
                        R"({"a":{"b":1,"c":2},"d":5,"e":"1"})"));
}

TEST(ShadowDelta, MetadataComesFromDesiredPaths) {
    Document d;
    const Document delta = parse(R"({"engine":{"on":true},"list":[1,2]})");
    const Document meta = parse(R"({"engine":{"on":{"timestamp":7},"rpm":{"timestamp":8}},
        "list":[{"timestamp":9},{"timestamp":9}],"other":{"timestamp":1}})");
    EXPECT_TRUE(json_eq(sh::delta_metadata(delta, &meta, d.GetAllocator()),
                        R"({"engine":{"on":{"timestamp":7}},"list":[{"timestamp":9},{"timestamp":9}]})"));
}

TEST(ShadowDepth, CountsContainerLevels) {
    EXPECT_EQ(sh::nesting_depth(parse("5"), 6), 0);
    EXPECT_EQ(sh::nesting_depth(parse("{}"), 6), 1);
    EXPECT_EQ(sh::nesting_depth(parse(R"({"a":1})"), 6), 1);
    EXPECT_EQ(sh::nesting_depth(parse(R"({"a":[1,{"b":{}}],"c":{}})"), 6), 4);
    EXPECT_EQ(sh::nesting_depth(parse(R"([[[[[[1]]]]]])"), 6), 6);
    EXPECT_GT(sh::nesting_depth(parse(R"([[[[[[[1]]]]]]])"), 6), 6);
}

TEST(ShadowDepth, StopsEarlyOnVeryDeepInput) {
    const std::string deep = std::string(100000, '[') + std::string(100000, ']');
    Document d;
    d.Parse<rapidjson::kParseIterativeFlag>(deep.c_str(), deep.size());
    ASSERT_FALSE(d.HasParseError());
    EXPECT_GT(sh::nesting_depth(d, 6), 6);
}

TEST(ShadowNullInArray, FindsThePath) {
    EXPECT_EQ(sh::find_null_in_array(parse(R"({"a":null,"b":{"c":null}})"), "desired"), std::nullopt);
    EXPECT_EQ(sh::find_null_in_array(parse(R"({"a":{"colors":["RED",null]}})"), "desired"),
              "desired.a.colors[1]");
    EXPECT_EQ(sh::find_null_in_array(parse(R"({"w":[{"x":null}]})"), "reported"), "reported.w[0].x");
    EXPECT_EQ(sh::find_null_in_array(parse(R"({"m":[[1],[null]]})"), "d"), "d.m[1][0]");
}

TEST(ShadowSize, CountsDesiredAndReportedOnly) {
    const Document state = parse(R"({"desired":{"a":"xy"},"reported":{"b":1}})");
    // {"a":"xy"} is 10 bytes, {"b":1} is 7.
    EXPECT_EQ(sh::state_bytes(state), 17u);
    EXPECT_EQ(sh::state_bytes(parse("{}")), 0u);
}

TEST(ShadowUtf8, AcceptsUtf8RejectsTheRest) {
    EXPECT_TRUE(sh::is_valid_utf8("plain ascii"));
    EXPECT_TRUE(sh::is_valid_utf8("\xc3\xa4 \xe2\x82\xac \xf0\x9f\x98\x80"));  // ä € 😀
    EXPECT_FALSE(sh::is_valid_utf8("\xff"));
    EXPECT_FALSE(sh::is_valid_utf8("\xc3"));              // truncated
    EXPECT_FALSE(sh::is_valid_utf8("\xc0\xaf"));          // overlong '/'
    EXPECT_FALSE(sh::is_valid_utf8("\xe0\x80\xaf"));      // overlong, 3 bytes
    EXPECT_FALSE(sh::is_valid_utf8("\xed\xa0\x80"));      // UTF-16 surrogate
    EXPECT_FALSE(sh::is_valid_utf8("\xf4\x90\x80\x80"));  // beyond U+10FFFF
    EXPECT_FALSE(sh::is_valid_utf8("\x80"));              // lone continuation byte
}

}  // namespace
