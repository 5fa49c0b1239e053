#include "logs_document.hpp"

#include <iotgw/plugins/https/https_url.hpp>
#include <iotgw/sdk/errors.hpp>
#include <iotgw/sdk/json_parse.hpp>

#include <array>
#include <cstdio>
#include <ctime>

namespace iotgw::plugins::logs {
namespace {

LogsDocumentProblem problem(std::string message) { return {"invalid_document", std::move(message)}; }

}  // namespace

std::optional<int64_t> parse_utc_time(std::string_view text) {
    if (text.size() != 20) return std::nullopt;
    const std::string s(text);
    std::tm tm{};
    const char* end = ::strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end == nullptr || *end != '\0') return std::nullopt;
    const std::time_t t = ::timegm(&tm);
    // timegm normalises 31 November into 1 December: a date that does not print back as it was
    // written does not exist.
    std::tm back{};
    if (::gmtime_r(&t, &back) == nullptr) return std::nullopt;
    std::array<char, 32> out{};
    if (std::strftime(out.data(), out.size(), "%Y-%m-%dT%H:%M:%SZ", &back) == 0 || s != out.data())
        return std::nullopt;
    return static_cast<int64_t>(t);
}

std::variant<LogsDocument, LogsDocumentProblem> parse_logs_document(std::string_view json) {
    rapidjson::Document doc;
    if (auto r = sdk::parse_json(doc, json); !r) return problem("the job document is not JSON: " + r.message);
    if (!doc.IsObject()) return problem("the job document is not a JSON object");
    LogsDocument out;
    bool has_url = false;
    std::optional<std::string> since, until;
    for (const auto& m : doc.GetObject()) {
        const std::string key(m.name.GetString(), m.name.GetStringLength());
        const auto& v = m.value;
        if (key == "operation") {
            if (!v.IsString() || std::string_view(v.GetString(), v.GetStringLength()) != "logs")
                return problem("\"operation\" is not \"logs\"");
        } else if (key == "url") {
            if (!v.IsString()) return problem("\"url\" is not a string");
            out.url.assign(v.GetString(), v.GetStringLength());
            try {
                (void)https::parse_https_url(out.url);
            } catch (const sdk::Error& e) {
                return problem(std::string("\"url\": ") + e.what());
            }
            has_url = true;
        } else if (key == "lines") {
            if (!v.IsInt() || v.GetInt() < 1 || v.GetInt() > kMaxLines)
                return problem("\"lines\" is not a whole number from 1 to " + std::to_string(kMaxLines));
            out.lines = v.GetInt();
        } else if (key == "since" || key == "until") {
            if (!v.IsString()) return problem("\"" + key + "\" is not a string");
            std::string text(v.GetString(), v.GetStringLength());
            const auto t = parse_utc_time(text);
            if (!t) return problem("\"" + key + "\" is not a UTC time such as \"2026-12-06T08:00:00Z\"");
            (key == "since" ? out.since_unix : out.until_unix) = *t;
            (key == "since" ? since : until) = std::move(text);
        } else if (key == "max_bytes") {
            if (!v.IsUint64() || v.GetUint64() < kMinMaxBytes)
                return problem("\"max_bytes\" is not a whole number of at least " +
                               std::to_string(kMinMaxBytes));
            out.max_bytes = v.GetUint64();
        } else {
            return problem("the job document has an unknown key \"" + key +
                           "\" (a logs job takes url and optionally lines, since, until, max_bytes)");
        }
    }
    if (!has_url) return problem("\"url\" is missing: where should the journal go?");
    if (out.lines && out.since_unix)
        return problem("\"lines\" and \"since\" are both given: say one of them");
    if (out.until_unix && !out.since_unix) return problem("\"until\" is given without \"since\"");
    if (out.until_unix && *out.until_unix <= *out.since_unix)
        return problem("\"until\" (" + *until + ") is not after \"since\" (" + *since + ")");
    if (!out.lines && !out.since_unix) out.lines = kDefaultLines;
    return out;
}

}  // namespace iotgw::plugins::logs
