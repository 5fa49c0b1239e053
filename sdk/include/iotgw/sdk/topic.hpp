// MQTT topic-filter rules ("+" one level, "#" the rest), as a broker applies them. In the SDK
// because the core (event subscriptions), the filter plugin and connection plugins (routing
// incoming messages to subscriptions) must all agree on them.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>

namespace iotgw {
namespace [[gnu::visibility("hidden")]] sdk {

// Why `filter` is not a valid MQTT topic filter, or nullopt if it is.
inline std::optional<std::string> validate_topic_filter(std::string_view filter) {
    if (filter.empty()) return "an empty topic filter matches nothing";
    size_t level_start = 0;
    for (size_t i = 0; i <= filter.size(); ++i) {
        if (i < filter.size() && filter[i] != '/') continue;
        const std::string_view level = filter.substr(level_start, i - level_start);
        if (level.find('#') != std::string_view::npos) {
            if (level != "#") return "'#' must be a whole level";
            if (i != filter.size()) return "'#' must be the last level";
        }
        if (level.find('+') != std::string_view::npos && level != "+") return "'+' must be a whole level";
        level_start = i + 1;
    }
    return std::nullopt;
}

// True if `topic` matches the (valid) `filter`. A leading wildcard does not match a topic
// starting with '$' (MQTT 3.1.1 section 4.7.2), so "#" never sees "$aws/..." by accident.
inline bool topic_matches(std::string_view filter, std::string_view topic) noexcept {
    if (!topic.empty() && topic[0] == '$' && !filter.empty() && (filter[0] == '+' || filter[0] == '#'))
        return false;
    size_t f = 0, t = 0;
    while (true) {
        const size_t f_end = std::min(filter.find('/', f), filter.size());
        const std::string_view f_level = filter.substr(f, f_end - f);
        if (f_level == "#") return true;  // also matches the parent level ("a/#" matches "a")
        const size_t t_end = std::min(topic.find('/', t), topic.size());
        const std::string_view t_level = topic.substr(t, t_end - t);
        if (f_level != "+" && f_level != t_level) return false;
        const bool f_last = f_end == filter.size();
        const bool t_last = t_end == topic.size();
        if (f_last || t_last) {
            if (f_last && t_last) return true;
            // "a/#" against "a": what is left of the filter is just "#".
            return !f_last && filter.substr(f_end + 1) == "#";
        }
        f = f_end + 1;
        t = t_end + 1;
    }
}

}  // namespace sdk
}  // namespace iotgw
