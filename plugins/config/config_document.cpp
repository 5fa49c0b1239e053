#include "config_document.hpp"

#include <iotgw/sdk/json_parse.hpp>

namespace iotgw::plugins::config {

std::variant<ConfigDocument, DocumentProblem> parse_config_document(std::string_view json,
                                                                    size_t max_toml_bytes) {
    rapidjson::Document doc;
    if (auto r = sdk::parse_json(doc, json); !r)
        return DocumentProblem{"invalid_document", "the job document is not JSON: " + r.message};
    if (!doc.IsObject()) return DocumentProblem{"invalid_document", "the job document is not a JSON object"};
    const rapidjson::Value* toml = nullptr;
    for (const auto& m : doc.GetObject()) {
        const std::string_view key(m.name.GetString(), m.name.GetStringLength());
        if (key == "operation") continue;
        if (key != "toml")
            return DocumentProblem{"invalid_document",
                                   "the job document has an unknown key \"" + std::string(key) +
                                       R"(" (a config job has only "operation" and "toml"))"};
        toml = &m.value;
    }
    if (toml == nullptr)
        return DocumentProblem{"invalid_document",
                               "the job document has no \"toml\": the configuration to apply"};
    if (!toml->IsString()) return DocumentProblem{"invalid_document", "\"toml\" is not a string"};
    if (toml->GetStringLength() > max_toml_bytes)
        return DocumentProblem{"document_too_large",
                               "\"toml\" is " + std::to_string(toml->GetStringLength()) +
                                   " bytes; this gateway takes at most " + std::to_string(max_toml_bytes)};
    if (toml->GetStringLength() == 0) return DocumentProblem{"invalid_document", "\"toml\" is empty"};
    return ConfigDocument{std::string(toml->GetString(), toml->GetStringLength())};
}

}  // namespace iotgw::plugins::config
