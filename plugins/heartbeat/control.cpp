#include "control.hpp"

#include "schema.hpp"

#include <iotgw/sdk/duration.hpp>

#include <rapidjson/document.h>
#include <iotgw/sdk/json_document.hpp>
#include <iotgw/sdk/json_parse.hpp>

#include <string>

namespace iotgw::plugins::heartbeat {
namespace {

constexpr std::size_t kMaxControlBytes = 1024;

std::string form() {
    return R"(expected a JSON object such as {"period":"30s"}, {"retain":false} and/or {"now":true})";
}

}  // namespace

Control parse_control(std::string_view payload) {
    if (payload.size() > kMaxControlBytes)
        throw sdk::Error("heartbeat control refused: " + std::to_string(payload.size()) + " bytes, at most " +
                         std::to_string(kMaxControlBytes) + "; " + form());
    sdk::MessageDocument doc;
    if (const auto parsed = sdk::parse_json(doc, payload); !parsed)
        throw sdk::Error("heartbeat control refused: not JSON: " + parsed.message + "; " + form());
    if (!doc.IsObject()) throw sdk::Error("heartbeat control refused: not a JSON object; " + form());

    Control c;
    for (const auto& member : doc.GetObject()) {
        const std::string key(member.name.GetString(), member.name.GetStringLength());
        if (key == "period") {
            if (!member.value.IsString())
                throw sdk::Error(
                    R"(heartbeat control refused: "period" must be a duration string such as "30s")");
            const std::string_view text(member.value.GetString(), member.value.GetStringLength());
            const auto ms = sdk::parse_duration_ms(text);
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
        } else if (key == "now") {
            if (!member.value.IsBool())
                throw sdk::Error(R"(heartbeat control refused: "now" must be true or false)");
            c.now = member.value.GetBool();
        } else {
            throw sdk::Error("heartbeat control refused: unknown key \"" + key +
                             "\"; allowed are period, retain, now");
        }
    }
    if (!c.period_ms && !c.retain && !c.now)
        throw sdk::Error("heartbeat control refused: nothing to change; " + form());
    return c;
}

}  // namespace iotgw::plugins::heartbeat
