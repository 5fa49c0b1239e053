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
        {R"({"operation":"config"})", "invalid_document: the job document has no \"toml\""},
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

TEST(ConfigDocument, ATextLargerThanTheLimitIsRefusedBeforeAnyCheck) {
    const std::string json = R"({"operation":"config","toml":")" + std::string(101, 'x') + "\"}";
    EXPECT_EQ(refusal(json, 100),
              "document_too_large: \"toml\" is 101 bytes; this gateway takes at most 100");
    EXPECT_EQ(refusal(json, 101), "taken");
}

}  // namespace
}  // namespace iotgw::plugins::config
