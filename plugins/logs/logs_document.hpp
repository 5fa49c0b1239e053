// The document of a `logs` job, checked before anything runs:
//   {"operation":"logs","url":"https://...","lines":2000}
//   {"operation":"logs","url":"https://...","since":"2026-12-06T08:00:00Z","until":"...","max_bytes":1048576}
// `url` is where the journal goes by PUT (a presigned S3 URL); either `lines` (the newest N) or a
// time range (`since`, optionally `until`, UTC) says what; neither means the newest
// kDefaultLines. An unknown key is refused too: a misspelt "line" must not upload something else
// than the operator asked for.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace iotgw::plugins::logs {

inline constexpr int kDefaultLines = 1000;
inline constexpr int kMaxLines = 100'000;
inline constexpr uint64_t kMinMaxBytes = 1024;

struct LogsDocument {
    std::string url;
    std::optional<int> lines;           // set unless a time range is given
    std::optional<int64_t> since_unix;  // seconds, UTC
    std::optional<int64_t> until_unix;  // only with since_unix, after it
    std::optional<uint64_t> max_bytes;  // the document's own cap (the handler's may be lower)
};

struct LogsDocumentProblem {
    std::string reason;   // "invalid_document"
    std::string message;  // names the field
};

std::variant<LogsDocument, LogsDocumentProblem> parse_logs_document(std::string_view json);

// "2026-12-06T08:00:00Z" -> seconds since the epoch; nullopt for anything else (another zone,
// fractions, a day that does not exist).
std::optional<int64_t> parse_utc_time(std::string_view text);

}  // namespace iotgw::plugins::logs
