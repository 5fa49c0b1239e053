// iotgw::sdk::MessageDocument: a rapidjson::Document whose pool grows in message-sized chunks.
#include <iotgw/sdk/json_document.hpp>
#include <iotgw/sdk/json_parse.hpp>

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace {

using iotgw::sdk::kMessageChunkBytes;
using iotgw::sdk::MessageDocument;
using iotgw::sdk::parse_json;

constexpr const char* kStatus =
    R"({"state":"moving","command_id":"c-0042","ts":1764900000000,"pos":{"x":1.5,"y":-2}})";

// The reason the type exists: a default Document takes 64 KiB for a message of a hundred bytes.
TEST(MessageDocument, ATypicalMessageTakesOneSmallChunk) {
    MessageDocument doc;
    ASSERT_TRUE(parse_json(doc, kStatus));
    EXPECT_STREQ(doc["state"].GetString(), "moving");
    EXPECT_GT(doc.GetAllocator().Capacity(), 0u);
    EXPECT_LE(doc.GetAllocator().Capacity(), kMessageChunkBytes);

    rapidjson::Document plain;  // what every plugin used before
    ASSERT_TRUE(parse_json(plain, kStatus));
    EXPECT_GE(plain.GetAllocator().Capacity(), 64u * 1024);
}

TEST(MessageDocument, ALargeDocumentTakesMoreChunks) {
    const std::string big = R"({"note":")" + std::string(3 * kMessageChunkBytes, 'n') + R"(","a":[1,2,3]})";
    MessageDocument doc;
    ASSERT_TRUE(parse_json(doc, big));
    EXPECT_EQ(doc["note"].GetStringLength(), 3 * kMessageChunkBytes);
    EXPECT_EQ(doc["a"].Size(), 3u);
    EXPECT_GE(doc.GetAllocator().Capacity(), 3 * kMessageChunkBytes);
}

TEST(MessageDocument, AnObjectDocumentBuildsInItsOwnPool) {
    MessageDocument doc(rapidjson::kObjectType);
    ASSERT_TRUE(doc.IsObject());
    doc.AddMember("state", rapidjson::Value("idle", doc.GetAllocator()), doc.GetAllocator());
    EXPECT_STREQ(doc["state"].GetString(), "idle");
    EXPECT_LE(doc.GetAllocator().Capacity(), kMessageChunkBytes);
}

// Values live in the pool, and the pool on the heap: a move hands both over, so pointers taken
// before the move (as a parsed reply keeps them) still point at the moved document's values.
TEST(MessageDocument, MovingKeepsValuesWhereTheyAre) {
    MessageDocument doc;
    ASSERT_TRUE(parse_json(doc, kStatus));
    const rapidjson::Value* pos = &doc["pos"];
    const void* allocator = &doc.GetAllocator();

    MessageDocument moved(std::move(doc));
    EXPECT_EQ(&moved["pos"], pos);
    EXPECT_EQ(&moved.GetAllocator(), allocator);
    EXPECT_DOUBLE_EQ(moved["pos"]["x"].GetDouble(), 1.5);

    MessageDocument assigned;
    ASSERT_TRUE(parse_json(assigned, R"({"other":true})"));
    assigned = std::move(moved);
    EXPECT_EQ(&assigned["pos"], pos);
    EXPECT_STREQ(assigned["command_id"].GetString(), "c-0042");
}

// Swapping hands each pool over with its values: the document destroyed first must not free the
// other's (ASan reports a heap-use-after-free with rapidjson::Document::Swap).
TEST(MessageDocument, SwappingSwapsThePoolsWithTheValues) {
    MessageDocument a;
    ASSERT_TRUE(parse_json(a, R"({"x":"from a"})"));
    {
        MessageDocument b;
        ASSERT_TRUE(parse_json(b, R"({"x":"from b","y":[1,2]})"));
        a.Swap(b);
        EXPECT_STREQ(b["x"].GetString(), "from a");
    }
    EXPECT_STREQ(a["x"].GetString(), "from b");
    EXPECT_EQ(a["y"].Size(), 2u);
}

}  // namespace
