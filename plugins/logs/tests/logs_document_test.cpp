// Every document a logs job can bring: what is taken, and the refusal (with the field) of what is
// not, before anything runs.
#include "logs_document.hpp"

#include <gtest/gtest.h>

namespace iotgw::plugins::logs {
namespace {

LogsDocument ok(const std::string& json) {
    auto parsed = parse_logs_document(json);
    if (const auto* p = std::get_if<LogsDocumentProblem>(&parsed))
        ADD_FAILURE() << json << ": " << p->message;
    return std::holds_alternative<LogsDocument>(parsed) ? std::get<LogsDocument>(parsed) : LogsDocument{};
}

std::string refused(const std::string& json) {
    auto parsed = parse_logs_document(json);
    if (std::holds_alternative<LogsDocument>(parsed)) {
        ADD_FAILURE() << json << " was taken";
        return {};
    }
    const auto& p = std::get<LogsDocumentProblem>(parsed);
    EXPECT_EQ(p.reason, "invalid_document");
    return p.message;
}

constexpr const char* kUrl =
    R"("url":"https://bucket.s3.ap-northeast-1.amazonaws.com/logs/AMR-001/j.log?X-Amz-Signature=s")";

TEST(LogsDocument, WithoutLinesOrARangeTheNewestThousandLinesAreAsked) {
    const auto d = ok(std::string(R"({"operation":"logs",)") + kUrl + "}");
    EXPECT_EQ(d.lines, kDefaultLines);
    EXPECT_FALSE(d.since_unix);
    EXPECT_FALSE(d.max_bytes);
}

TEST(LogsDocument, LinesARangeAndACapAreTaken) {
    auto d = ok(std::string(R"({"operation":"logs",)") + kUrl + R"(,"lines":2000,"max_bytes":65536})");
    EXPECT_EQ(d.lines, 2000);
    EXPECT_EQ(d.max_bytes, 65536u);
    d = ok(std::string("{") + kUrl + R"(,"since":"2026-12-06T08:00:00Z","until":"2026-12-06T09:30:00Z"})");
    EXPECT_FALSE(d.lines);
    EXPECT_EQ(d.since_unix, 1796544000);
    EXPECT_EQ(d.until_unix, 1796549400);
    d = ok(std::string("{") + kUrl + R"(,"since":"2026-12-06T08:00:00Z"})");
    EXPECT_FALSE(d.until_unix);
}

TEST(LogsDocument, WhatIsWrongIsNamed) {
    EXPECT_NE(refused("[1]").find("not a JSON object"), std::string::npos);
    EXPECT_NE(refused("{").find("not JSON"), std::string::npos);
    EXPECT_NE(refused(R"({"operation":"logs"})").find("\"url\" is missing"), std::string::npos);
    EXPECT_NE(refused(R"({"operation":"health",)" + std::string(kUrl) + "}").find("\"operation\""),
              std::string::npos);
    EXPECT_NE(refused(R"({"url":"http://example.com/x"})").find("\"url\""), std::string::npos);
    EXPECT_NE(refused(R"({"url":5})").find("\"url\" is not a string"), std::string::npos);
    const std::string u = std::string("{") + kUrl;
    EXPECT_NE(refused(u + R"(,"lines":0})").find("\"lines\""), std::string::npos);
    EXPECT_NE(refused(u + R"(,"lines":100001})").find("\"lines\""), std::string::npos);
    EXPECT_NE(refused(u + R"(,"lines":"10"})").find("\"lines\""), std::string::npos);
    EXPECT_NE(refused(u + R"(,"lines":1.5})").find("\"lines\""), std::string::npos);
    EXPECT_NE(refused(u + R"(,"max_bytes":100})").find("\"max_bytes\""), std::string::npos);
    EXPECT_NE(refused(u + R"(,"line":10})").find("unknown key \"line\""), std::string::npos);
    EXPECT_NE(refused(u + R"(,"lines":10,"since":"2026-12-06T08:00:00Z"})").find("both"), std::string::npos);
    EXPECT_NE(refused(u + R"(,"until":"2026-12-06T08:00:00Z"})").find("without \"since\""),
              std::string::npos);
    EXPECT_NE(
        refused(u + R"(,"since":"2026-12-06T09:00:00Z","until":"2026-12-06T08:00:00Z"})").find("not after"),
        std::string::npos);
    EXPECT_NE(refused(u + R"(,"since":"2026-12-06 08:00:00"})").find("\"since\" is not a UTC time"),
              std::string::npos);
}

TEST(LogsDocument, OnlyUtcTimesThatExistAreTaken) {
    EXPECT_EQ(parse_utc_time("1970-01-01T00:00:00Z"), 0);
    EXPECT_EQ(parse_utc_time("2028-02-29T23:59:59Z"), 1835481599);
    for (const char* bad :
         {"2026-11-31T00:00:00Z", "2026-02-29T00:00:00Z", "2026-12-06T24:00:00Z", "2026-12-06T08:00:00+09:00",
          "2026-12-06T08:00:00.5Z", "2026-12-06T08:00:00", "2026-12-06", "", "2026-12-06T08:00:00Zx"})
        EXPECT_FALSE(parse_utc_time(bad)) << bad;
}

}  // namespace
}  // namespace iotgw::plugins::logs
