#include "watch_message.hpp"

#include <iotgw/sdk/errors.hpp>
#include <iotgw/sdk/json_parse.hpp>

#include <rapidjson/document.h>

#include <algorithm>

namespace iotgw::plugins::watch {
namespace {

// A console's message is about 80 bytes; the room above that is for keys a newer console adds.
constexpr std::size_t kMaxWatchBytes = 4096;
constexpr std::size_t kMaxConsoleChars = 128;

[[noreturn]] void refuse(const std::string& why) {
    throw sdk::Error("watch refused: " + why +
                     R"(; expected {"thing":"<this AMR>","console":"<console id>","lease_s":<seconds>})");
}

// Console ids end up in logs and in a map: a small alphabet keeps both readable and bounded.
bool console_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ':' ||
           c == '_' || c == '.' || c == '-';
}

}  // namespace

std::optional<WatchRequest> parse_watch(std::string_view payload, std::string_view thing) {
    if (payload.empty()) return std::nullopt;
    if (payload.size() > kMaxWatchBytes)
        refuse(std::to_string(payload.size()) + " bytes, at most " + std::to_string(kMaxWatchBytes));
    sdk::MessageDocument doc;
    if (const auto parsed = sdk::parse_json(doc, payload); !parsed) refuse("not JSON: " + parsed.message);
    if (!doc.IsObject()) refuse("not a JSON object");

    const auto thing_it = doc.FindMember("thing");
    if (thing_it == doc.MemberEnd()) refuse(R"("thing" is missing)");
    if (!thing_it->value.IsString()) refuse(R"("thing" must be a string)");
    const std::string_view named(thing_it->value.GetString(), thing_it->value.GetStringLength());
    // A watch for another AMR: a console publishing to the wrong topic, or a misrouted pipeline.
    if (named != thing)
        refuse("foreign thing: \"thing\" is \"" + std::string(named.substr(0, 128)) +
               "\", this gateway is \"" + std::string(thing) + "\"");

    const auto console_it = doc.FindMember("console");
    if (console_it == doc.MemberEnd()) refuse(R"("console" is missing)");
    if (!console_it->value.IsString()) refuse(R"("console" must be a string)");
    const std::string_view console(console_it->value.GetString(), console_it->value.GetStringLength());
    if (console.empty() || console.size() > kMaxConsoleChars)
        refuse("\"console\" has " + std::to_string(console.size()) + " characters, allowed are 1 to " +
               std::to_string(kMaxConsoleChars));
    for (const char c : console)
        if (!console_char(c)) refuse(R"("console" may contain only A-Z, a-z, 0-9 and : _ . -)");

    const auto lease_it = doc.FindMember("lease_s");
    if (lease_it == doc.MemberEnd()) refuse(R"("lease_s" is missing)");
    // IsUint64 is false for 90.5 and for -1, and for 90.0 too: RapidJSON keeps a number written
    // with a fraction or exponent as a double.
    if (!lease_it->value.IsUint64() || lease_it->value.GetUint64() < 1)
        refuse(R"("lease_s" must be an integer number of seconds, at least 1)");

    return WatchRequest{std::string(console), lease_it->value.GetUint64()};
}

void limit_to_expiry(WatchRequest& request, bool retained, std::optional<uint32_t> expiry_s) {
    if (!expiry_s) {
        if (retained)
            throw sdk::Error("watch refused: console \"" + request.console +
                             "\" left a retained watch without a message expiry, which would make this AMR "
                             "fast after every reconnect; a console sets the MQTT 5 Message Expiry Interval "
                             "to lease_s (an MQTT 3.1.1 connection receives no expiry: use mqtt_version = "
                             "\"5\")");
        return;
    }
    // Expired already (0 s left, e.g. a refresh delivered just as it ran out): asks for nothing
    // more than the minimum lease, which the leases apply.
    request.lease_s = std::min<uint64_t>(request.lease_s, *expiry_s);
    if (request.lease_s == 0) request.lease_s = 1;
}

}  // namespace iotgw::plugins::watch
