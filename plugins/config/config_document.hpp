// The job document of the operation "config": {"operation":"config","toml":"<the whole gateway
// configuration>"}. Any other key is refused, so a typo ("tomll") is not taken for a document
// without the configuration.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

namespace iotgw::plugins::config {

struct ConfigDocument {
    std::string toml;
};

// Why a document is refused: a reason code for the execution's status details and a sentence.
struct DocumentProblem {
    std::string reason;  // "invalid_document" or "document_too_large"
    std::string message;
};

std::variant<ConfigDocument, DocumentProblem> parse_config_document(std::string_view json,
                                                                    size_t max_toml_bytes);

}  // namespace iotgw::plugins::config
