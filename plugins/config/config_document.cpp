#include "config_document.hpp"

#include <iotgw/plugins/https/https_url.hpp>
#include <iotgw/sdk/json_parse.hpp>

#include <algorithm>
#include <cctype>

namespace iotgw::plugins::config {
namespace {

DocumentProblem invalid(std::string message) {
    return DocumentProblem{"invalid_document", std::move(message)};
}

// 64 hex digits, either case; returned in lower case, or empty when it is not a SHA-256.
std::string sha256_hex(std::string_view text) {
    if (text.size() != 64) return {};
    std::string out;
    for (const char c : text) {
        if (std::isxdigit(static_cast<unsigned char>(c)) == 0) return {};
        out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    return out;
}

}  // namespace

std::variant<ConfigDocument, DocumentProblem> parse_config_document(std::string_view json,
                                                                    size_t max_toml_bytes) {
    rapidjson::Document doc;
    if (auto r = sdk::parse_json(doc, json); !r) return invalid("the job document is not JSON: " + r.message);
    if (!doc.IsObject()) return invalid("the job document is not a JSON object");
    const rapidjson::Value* toml = nullptr;
    const rapidjson::Value* url = nullptr;
    const rapidjson::Value* sha256 = nullptr;
    for (const auto& m : doc.GetObject()) {
        const std::string_view key(m.name.GetString(), m.name.GetStringLength());
        if (key == "operation") continue;
        if (key == "toml") {
            toml = &m.value;
        } else if (key == "url") {
            url = &m.value;
        } else if (key == "sha256") {
            sha256 = &m.value;
        } else {
            return invalid("the job document has an unknown key \"" + std::string(key) +
                           R"(" (a config job has "operation" and either "toml", or "url" and "sha256"))");
        }
    }
    if (toml != nullptr && (url != nullptr || sha256 != nullptr))
        return invalid(R"(the job document has both "toml" and "url"/"sha256": give one configuration)");
    if (url != nullptr || sha256 != nullptr) {
        if (url == nullptr) return invalid(R"("sha256" is given without "url")");
        if (sha256 == nullptr)
            return invalid(
                R"("url" is given without "sha256": the digest of the file, so only that file runs)");
        if (!url->IsString()) return invalid("\"url\" is not a string");
        ConfigDocument out;
        out.url.assign(url->GetString(), url->GetStringLength());
        try {
            (void)https::parse_https_url(out.url);
        } catch (const std::exception& e) {
            return invalid(std::string("\"url\": ") + e.what());
        }
        out.sha256 = sha256->IsString() ? sha256_hex({sha256->GetString(), sha256->GetStringLength()}) : "";
        if (out.sha256.empty()) return invalid("\"sha256\" is not 64 hexadecimal digits");
        return out;
    }
    if (toml == nullptr)
        return invalid(R"(the job document has no "toml" or "url": the configuration to apply)");
    if (!toml->IsString()) return invalid("\"toml\" is not a string");
    if (toml->GetStringLength() > max_toml_bytes)
        return DocumentProblem{"document_too_large",
                               "\"toml\" is " + std::to_string(toml->GetStringLength()) +
                                   " bytes; this gateway takes at most " + std::to_string(max_toml_bytes)};
    if (toml->GetStringLength() == 0) return invalid("\"toml\" is empty");
    return ConfigDocument{std::string(toml->GetString(), toml->GetStringLength()), {}, {}};
}

}  // namespace iotgw::plugins::config
