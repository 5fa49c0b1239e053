// The job document of the operation "config", in one of two forms:
//   {"operation":"config","toml":"<the whole gateway configuration>"}
//   {"operation":"config","url":"https://...","sha256":"<64 hex digits>"}
// The second is for a configuration kept as a file (in AWS, an S3 object named by a presigned-URL
// placeholder, which AWS replaces each time the document is delivered). Its SHA-256 is part of
// the document, so the file that runs is the one the job was made for. Any other key is
// refused, so a typo ("tomll") is not taken for a document without the configuration.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

namespace iotgw::plugins::config {

struct ConfigDocument {
    std::string toml;    // inline form; empty when `url` is set
    std::string url;     // by-URL form
    std::string sha256;  // by-URL form: lower-case hex
};

// Why a document is refused: a reason code for the execution's status details and a sentence.
struct DocumentProblem {
    std::string reason;  // "invalid_document" or "document_too_large"
    std::string message;
};

std::variant<ConfigDocument, DocumentProblem> parse_config_document(std::string_view json,
                                                                    size_t max_toml_bytes);

}  // namespace iotgw::plugins::config
