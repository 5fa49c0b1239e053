// AWS IoT Core's limits on topics, filters, payloads and client ids, and the gateway's own
// topic scope. Checked before anything is sent: AWS answers a violation by closing the
// connection (MQTT 3.1.1), which would take every other message down with it.
#pragma once

#include <iotgw/sdk/topic.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace iotgw::plugins::mqtt {

inline constexpr std::size_t kMaxPayloadBytes = 131072;  // 128 KiB
inline constexpr std::size_t kMaxTopicBytes = 256;
inline constexpr std::size_t kMaxTopicSlashes = 7;
inline constexpr std::size_t kMaxClientIdBytes = 128;

inline std::string join_scope(const std::vector<std::string>& scope) {
    std::string out = "[";
    for (std::size_t i = 0; i < scope.size(); ++i) out += (i ? ", \"" : "\"") + scope[i] + "\"";
    return out + "]";
}

// '/' count as AWS counts it: the prefixes "$aws/rules/<rule>/" and "$share/<group>/" are exempt.
inline std::size_t counted_slashes(std::string_view t) {
    auto skip_prefix = [&t](std::string_view prefix, std::size_t extra_levels) {
        if (t.substr(0, prefix.size()) != prefix) return;
        std::size_t pos = prefix.size();
        for (std::size_t i = 0; i < extra_levels && pos != std::string_view::npos; ++i) {
            pos = t.find('/', pos);
            if (pos != std::string_view::npos) ++pos;
        }
        t = pos == std::string_view::npos ? std::string_view{} : t.substr(pos);
    };
    skip_prefix("$aws/rules/", 1);
    skip_prefix("$share/", 1);
    std::size_t n = 0;
    for (char c : t) n += c == '/' ? 1 : 0;
    return n;
}

inline std::optional<std::string> check_limits(std::string_view t) {
    if (t.size() > kMaxTopicBytes)
        return "is " + std::to_string(t.size()) + " bytes long; AWS IoT allows at most " +
               std::to_string(kMaxTopicBytes) + " bytes";
    if (const std::size_t n = counted_slashes(t); n > kMaxTopicSlashes)
        return "has " + std::to_string(n) + " '/' separators; AWS IoT allows at most " +
               std::to_string(kMaxTopicSlashes);
    if (t.find('\0') != std::string_view::npos) return "contains a NUL character";
    return std::nullopt;
}

// True if every topic `filter` matches is also matched by `scope` (both valid filters).
inline bool filter_within(std::string_view filter, std::string_view scope) {
    // A scope starting with a wildcard never matches '$' topics (MQTT 4.7.2).
    if (!filter.empty() && filter[0] == '$' && !scope.empty() && (scope[0] == '+' || scope[0] == '#'))
        return false;
    std::size_t f = 0, s = 0;
    while (true) {
        const std::size_t f_end = std::min(filter.find('/', f), filter.size());
        const std::size_t s_end = std::min(scope.find('/', s), scope.size());
        const std::string_view fl = filter.substr(f, f_end - f);
        const std::string_view sl = scope.substr(s, s_end - s);
        if (sl == "#") return true;
        if (fl == "#") return false;  // the scope stops narrowing here, the filter does not
        if (sl != "+" && (fl == "+" || fl != sl)) return false;
        const bool f_last = f_end == filter.size();
        const bool s_last = s_end == scope.size();
        if (f_last || s_last) {
            if (f_last && s_last) return true;
            return f_last && scope.substr(s_end + 1) == "#";  // "a" is within "a/#"
        }
        f = f_end + 1;
        s = s_end + 1;
    }
}

// Why the gateway must not publish to `topic`, or nullopt.
inline std::optional<std::string> check_publish_topic(std::string_view topic,
                                                      const std::vector<std::string>& scope) {
    if (topic.empty()) return "an empty topic cannot be published to";
    if (topic.find_first_of("+#") != std::string_view::npos)
        return "contains a wildcard ('+' or '#'); a publish needs a concrete topic";
    if (auto why = check_limits(topic)) return why;
    for (const auto& s : scope)
        if (sdk::topic_matches(s, topic)) return std::nullopt;
    return "is outside topic_scope " + join_scope(scope) +
           "; add a matching filter to topic_scope if intended";
}

// Why the gateway must not subscribe to `filter`, or nullopt.
inline std::optional<std::string> check_subscribe_filter(std::string_view filter,
                                                         const std::vector<std::string>& scope) {
    if (auto why = sdk::validate_topic_filter(filter)) return "is not a valid topic filter: " + *why;
    if (auto why = check_limits(filter)) return why;
    for (const auto& s : scope)
        if (filter_within(filter, s)) return std::nullopt;
    return "is outside topic_scope " + join_scope(scope) +
           "; add a filter covering it to topic_scope if intended";
}

inline std::optional<std::string> check_client_id(std::string_view id) {
    if (id.empty()) return "client_id must not be empty";
    if (id.size() > kMaxClientIdBytes)
        return "client_id is " + std::to_string(id.size()) + " bytes long; AWS IoT allows at most " +
               std::to_string(kMaxClientIdBytes);
    if (id[0] == '$') return "client_id must not start with '$' (AWS IoT refuses it)";
    if (id.find_first_of("+#") != std::string_view::npos)
        return "client_id must not contain '+' or '#' (AWS IoT gives such clients no lifecycle events)";
    return std::nullopt;
}

}  // namespace iotgw::plugins::mqtt
