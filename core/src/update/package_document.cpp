#include <iotgw/core/package_document.hpp>

#include <iotgw/sdk/json_parse.hpp>

#include <cctype>
#include <set>

namespace iotgw::core::update {
namespace {

PackageDocumentProblem invalid(std::string message) { return {"invalid_document", std::move(message)}; }

bool is_hex64(std::string_view s) {
    if (s.size() != 64) return false;
    for (const char c : s)
        if (std::isxdigit(static_cast<unsigned char>(c)) == 0) return false;
    return true;
}

// A Debian version as dpkg accepts it: starts with a digit; digits, letters and . + ~ - : only.
bool is_debian_version(std::string_view s) {
    if (s.empty() || s.size() > 64 || std::isdigit(static_cast<unsigned char>(s.front())) == 0) return false;
    for (const char c : s)
        if (std::isalnum(static_cast<unsigned char>(c)) == 0 &&
            std::string_view(".+~-:").find(c) == std::string_view::npos)
            return false;
    return true;
}

}  // namespace

std::variant<PackageDocument, PackageDocumentProblem> parse_package_document(std::string_view json) {
    rapidjson::Document doc;
    if (auto r = sdk::parse_json(doc, json); !r) return invalid("the job document is not JSON: " + r.message);
    if (!doc.IsObject()) return invalid("the job document is not a JSON object");
    static const std::set<std::string_view> kKeys{"operation", "url",       "version",        "size",
                                                  "sha256",    "signature", "confirm_timeout"};
    for (const auto& m : doc.GetObject()) {
        const std::string_view key(m.name.GetString(), m.name.GetStringLength());
        if (kKeys.count(key) == 0)
            return invalid("the job document has an unknown key \"" + std::string(key) +
                           R"(" (a package job has "url", "version", "size", "sha256", "signature" and )"
                           R"(optionally "confirm_timeout"))");
    }
    auto text = [&](const char* key, std::string& out) -> std::string {
        const auto it = doc.FindMember(key);
        if (it == doc.MemberEnd()) return std::string("the job document has no \"") + key + "\"";
        if (!it->value.IsString()) return std::string("\"") + key + "\" is not a string";
        out.assign(it->value.GetString(), it->value.GetStringLength());
        return {};
    };
    PackageDocument out;
    for (auto [key, field] : {std::pair<const char*, std::string*>{"url", &out.url},
                              {"version", &out.version},
                              {"sha256", &out.claim.sha256},
                              {"signature", &out.claim.signature}})
        if (auto problem = text(key, *field); !problem.empty()) return invalid(problem);
    if (out.url.rfind("https://", 0) != 0) return invalid("\"url\" is not an https:// URL");
    if (!is_debian_version(out.version))
        return invalid("\"version\" is not a Debian package version: " + out.version);
    if (!is_hex64(out.claim.sha256)) return invalid("\"sha256\" is not 64 hexadecimal digits");
    for (char& c : out.claim.sha256) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (out.claim.signature.empty()) return invalid("\"signature\" is empty");
    const auto size = doc.FindMember("size");
    if (size == doc.MemberEnd()) return invalid("the job document has no \"size\"");
    if (!size->value.IsUint64() || size->value.GetUint64() == 0)
        return invalid("\"size\" is not a positive whole number of bytes");
    out.claim.size = size->value.GetUint64();
    if (out.claim.size > kMaxPackageBytes)
        return invalid("\"size\" is " + std::to_string(out.claim.size) + " bytes; a package is at most " +
                       std::to_string(kMaxPackageBytes));
    if (const auto t = doc.FindMember("confirm_timeout"); t != doc.MemberEnd()) {
        if (!t->value.IsInt64() || t->value.GetInt64() < kMinConfirmSeconds ||
            t->value.GetInt64() > kMaxConfirmSeconds)
            return invalid("\"confirm_timeout\" is not a whole number of seconds from " +
                           std::to_string(kMinConfirmSeconds) + " to " + std::to_string(kMaxConfirmSeconds));
        out.confirm_seconds = t->value.GetInt64();
    }
    return out;
}

}  // namespace iotgw::core::update
