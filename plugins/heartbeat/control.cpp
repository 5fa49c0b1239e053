#include "control.hpp"

#include "schema.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <array>
#include <limits>
#include <string>

namespace iotgw::plugins::heartbeat {
namespace {

constexpr std::size_t kMaxControlBytes = 1024;

std::string form() { return R"(expected a JSON object such as {"period":"30s"} and/or {"retain":false})"; }

}  // namespace

std::optional<int64_t> parse_duration_ms(std::string_view text) {
    struct Unit {
        std::string_view name;
        int64_t ms;
    };
    // Longest name first where one is a prefix of another ("ms" before "m").
    static constexpr std::array<Unit, 4> kUnits{{{"h", 3'600'000}, {"ms", 1}, {"m", 60'000}, {"s", 1'000}}};
    static constexpr std::array<int, 4> kRank{0, 3, 1, 2};  // h > m > s > ms
    if (text.empty()) return std::nullopt;
    int64_t total = 0;
    int last_rank = -1;
    std::size_t i = 0;
    while (i < text.size()) {
        if (text[i] < '0' || text[i] > '9') return std::nullopt;
        int64_t n = 0;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            if (n > (std::numeric_limits<int64_t>::max() - 9) / 10) return std::nullopt;
            n = n * 10 + (text[i++] - '0');
        }
        std::size_t u = 0;
        for (; u < kUnits.size(); ++u)
            if (text.substr(i, kUnits[u].name.size()) == kUnits[u].name) break;
        if (u == kUnits.size() || kRank[u] <= last_rank)
            return std::nullopt;  // no unit, unknown, out of order
        last_rank = kRank[u];
        i += kUnits[u].name.size();
        if (n > (std::numeric_limits<int64_t>::max() - total) / kUnits[u].ms) return std::nullopt;
        total += n * kUnits[u].ms;
    }
    return total;
}

Control parse_control(std::string_view payload) {
    if (payload.size() > kMaxControlBytes)
        throw sdk::Error("heartbeat control refused: " + std::to_string(payload.size()) + " bytes, at most " +
                         std::to_string(kMaxControlBytes) + "; " + form());
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(payload.data(),
                                                                                      payload.size());
    if (doc.HasParseError())
        throw sdk::Error(std::string("heartbeat control refused: not JSON: ") +
                         rapidjson::GetParseError_En(doc.GetParseError()) + " (at byte " +
                         std::to_string(doc.GetErrorOffset()) + "); " + form());
    if (!doc.IsObject()) throw sdk::Error("heartbeat control refused: not a JSON object; " + form());

    Control c;
    for (const auto& member : doc.GetObject()) {
        const std::string key(member.name.GetString(), member.name.GetStringLength());
        if (key == "period") {
            if (!member.value.IsString())
                throw sdk::Error(
                    R"(heartbeat control refused: "period" must be a duration string such as "30s")");
            const std::string_view text(member.value.GetString(), member.value.GetStringLength());
            const auto ms = parse_duration_ms(text);
            if (!ms)
                throw sdk::Error("heartbeat control refused: \"period\" is \"" + std::string(text) +
                                 "\", expected a duration such as \"30s\", \"1m30s\" or \"500ms\"");
            if (*ms < kMinPeriodMs || *ms > kMaxPeriodMs)
                throw sdk::Error("heartbeat control refused: \"period\" " + std::string(text) +
                                 " is out of range; allowed are 1s to 1h");
            c.period_ms = *ms;
        } else if (key == "retain") {
            if (!member.value.IsBool())
                throw sdk::Error(R"(heartbeat control refused: "retain" must be true or false)");
            c.retain = member.value.GetBool();
        } else {
            throw sdk::Error("heartbeat control refused: unknown key \"" + key +
                             "\"; allowed are period, retain");
        }
    }
    if (!c.period_ms && !c.retain)
        throw sdk::Error("heartbeat control refused: nothing to change; " + form());
    return c;
}

}  // namespace iotgw::plugins::heartbeat
