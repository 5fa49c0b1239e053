// The job document of the operation "package": what is taken, and each refusal with its sentence.
#include <iotgw/core/package_document.hpp>

#include <gtest/gtest.h>

namespace iotgw::core::update {
namespace {

const std::string kSha(64, 'A');

std::string doc(const std::string& fields) {
    return R"({"operation":"package","url":"https://b.s3.ap-northeast-1.amazonaws.com/iotgw.deb?X-Amz-Signature=s",)" +
           fields + "}";
}

const std::string kGood =
    R"("version":"1.4.0-1~bpo12+1","size":5242880,"sha256":")" + kSha + R"(","signature":"MEUCIQ==")";

std::string refusal(const std::string& json) {
    auto r = parse_package_document(json);
    if (const auto* p = std::get_if<PackageDocumentProblem>(&r)) return p->reason + ": " + p->message;
    return "taken";
}

TEST(PackageDocument, EveryFieldIsTakenAndTheDigestLowerCased) {
    auto r = parse_package_document(doc(kGood));
    ASSERT_TRUE(std::holds_alternative<PackageDocument>(r)) << refusal(doc(kGood));
    const auto& d = std::get<PackageDocument>(r);
    EXPECT_EQ(d.url, "https://b.s3.ap-northeast-1.amazonaws.com/iotgw.deb?X-Amz-Signature=s");
    EXPECT_EQ(d.version, "1.4.0-1~bpo12+1");
    EXPECT_EQ(d.claim.size, 5242880u);
    EXPECT_EQ(d.claim.sha256, std::string(64, 'a'));
    EXPECT_EQ(d.claim.signature, "MEUCIQ==");
    EXPECT_EQ(d.confirm_seconds, kDefaultConfirmSeconds);
    auto timed = parse_package_document(doc(kGood + R"(,"confirm_timeout":120)"));
    ASSERT_TRUE(std::holds_alternative<PackageDocument>(timed));
    EXPECT_EQ(std::get<PackageDocument>(timed).confirm_seconds, 120);
}

TEST(PackageDocument, EachRefusalSaysWhatIsWrong) {
    const std::string sig = R"(,"signature":"MEUCIQ==")";
    const std::string sha = R"(,"sha256":")" + kSha + "\"";
    const struct {
        std::string json;
        std::string expected;
    } cases[] = {
        {R"({"operation":"package"})", "invalid_document: the job document has no \"url\""},
        {doc(R"("version":"1.4.0","size":1)" + sha),
         "invalid_document: the job document has no \"signature\""},
        {doc(R"("version":"v1.4","size":1)" + sha + sig),
         "invalid_document: \"version\" is not a Debian package version: v1.4"},
        {doc(R"("version":"1.4; rm -rf /","size":1)" + sha + sig),
         "invalid_document: \"version\" is not a Debian package version"},
        {doc(R"("version":"1.4.0","size":-1)" + sha + sig),
         "invalid_document: \"size\" is not a positive whole number of bytes"},
        {doc(R"("version":"1.4.0","size":"12")" + sha + sig),
         "invalid_document: \"size\" is not a positive whole number of bytes"},
        {doc(R"("version":"1.4.0","size":1000000000000)" + sha + sig),
         "invalid_document: \"size\" is 1000000000000 bytes"},
        {doc(R"("version":"1.4.0","size":1,"sha256":"abc")" + sig),
         "invalid_document: \"sha256\" is not 64 hexadecimal digits"},
        {doc(R"("version":"1.4.0","size":1,"signature":"")" + sha),
         "invalid_document: \"signature\" is empty"},
        {doc(kGood + R"(,"sig":"x")"), "invalid_document: the job document has an unknown key \"sig\""},
        {R"({"url":"http://example.com/p.deb","version":"1","size":1,"sha256":")" + kSha + "\"" + sig + "}",
         "invalid_document: \"url\" is not an https:// URL"},
        {"[1]", "invalid_document: the job document is not a JSON object"},
        {doc(kGood + R"(,"confirm_timeout":5)"),
         "invalid_document: \"confirm_timeout\" is not a whole number of seconds from 30 to 3600"},
    };
    for (const auto& c : cases)
        EXPECT_EQ(refusal(c.json).rfind(c.expected, 0), 0u) << c.json << " -> " << refusal(c.json);
}

}  // namespace
}  // namespace iotgw::core::update
