// The job document of the operation "config": what is taken, and each refusal with its reason.
#include "config_document.hpp"

#include <gtest/gtest.h>

namespace iotgw::plugins::config {
namespace {

std::string refusal(std::string_view json, size_t max = 1000) {
    auto r = parse_config_document(json, max);
    if (const auto* p = std::get_if<DocumentProblem>(&r)) return p->reason + ": " + p->message;
    return "taken";
}

TEST(ConfigDocument, TheTomlTextIsTakenAsItIs) {
    const char* json = R"({"operation":"config","toml":"[gateway]\nthing = \"A\"\n"})";
    auto r = parse_config_document(json, 1000);
    ASSERT_TRUE(std::holds_alternative<ConfigDocument>(r)) << refusal(json);
    EXPECT_EQ(std::get<ConfigDocument>(r).toml, "[gateway]\nthing = \"A\"\n");
}

TEST(ConfigDocument, EachRefusalSaysWhatIsWrong) {
    const struct {
        const char* json;
        const char* expected;
    } cases[] = {
        {R"({"operation":"config"})", "invalid_document: the job document has no \"toml\" or \"url\""},
        {R"({"operation":"config","toml":42})", "invalid_document: \"toml\" is not a string"},
        {R"({"operation":"config","toml":""})", "invalid_document: \"toml\" is empty"},
        {R"({"operation":"config","tomll":"a = 1"})",
         "invalid_document: the job document has an unknown key \"tomll\""},
        {R"(["config"])", "invalid_document: the job document is not a JSON object"},
        {R"({"operation":)", "invalid_document: the job document is not JSON"},
    };
    for (const auto& c : cases)
        EXPECT_EQ(refusal(c.json).rfind(c.expected, 0), 0u) << c.json << " -> " << refusal(c.json);
}

const std::string kDigest(64, 'a');

TEST(ConfigDocument, AFileByUrlIsTakenWithItsDigestInLowerCase) {
    const std::string json =
        R"({"operation":"config","url":"https://bucket.s3.ap-northeast-1.amazonaws.com/site.toml?X-Amz-Signature=abc","sha256":")" +
        std::string(64, 'A') + "\"}";
    auto r = parse_config_document(json, 1000);
    ASSERT_TRUE(std::holds_alternative<ConfigDocument>(r)) << refusal(json);
    const auto& doc = std::get<ConfigDocument>(r);
    EXPECT_TRUE(doc.toml.empty());
    EXPECT_EQ(doc.url, "https://bucket.s3.ap-northeast-1.amazonaws.com/site.toml?X-Amz-Signature=abc");
    EXPECT_EQ(doc.sha256, kDigest);
}

TEST(ConfigDocument, AUrlDocumentIsRefusedWithoutItsDigestOrWithBothForms) {
    const std::string url = R"("url":"https://example.com/site.toml")";
    const std::string digest = R"("sha256":")" + kDigest + "\"";
    const struct {
        std::string json;
        const char* expected;
    } cases[] = {
        {"{" + url + "}", "invalid_document: \"url\" is given without \"sha256\""},
        {"{" + digest + "}", "invalid_document: \"sha256\" is given without \"url\""},
        {"{" + url + R"(,"sha256":"abc"})", "invalid_document: \"sha256\" is not 64 hexadecimal digits"},
        {"{" + url + R"(,"sha256":")" + std::string(64, 'g') + "\"}",
         "invalid_document: \"sha256\" is not 64 hexadecimal digits"},
        {R"({"url":"http://example.com/site.toml",)" + digest + "}", "invalid_document: \"url\": "},
        {R"({"url":7,)" + digest + "}", "invalid_document: \"url\" is not a string"},
        {"{" + url + "," + digest + R"(,"toml":"a = 1"})", "invalid_document: the job document has both"},
    };
    for (const auto& c : cases)
        EXPECT_EQ(refusal(c.json).rfind(c.expected, 0), 0u) << c.json << " -> " << refusal(c.json);
}

TEST(ConfigDocument, ATextLargerThanTheLimitIsRefusedBeforeAnyCheck) {
    const std::string json = R"({"operation":"config","toml":")" + std::string(101, 'x') + "\"}";
    EXPECT_EQ(refusal(json, 100),
              "document_too_large: \"toml\" is 101 bytes; this gateway takes at most 100");
    EXPECT_EQ(refusal(json, 101), "taken");
}

}  // namespace
}  // namespace iotgw::plugins::config
