// libFuzzer target: the mqtt plugin's topic rules (plugins/mqtt/topic_rules.hpp, over the SDK's
// filter matching in sdk/include/iotgw/sdk/topic.hpp) and the settings check that applies them
// to the Will (plugins/mqtt/mqtt_settings.cpp).
//
// Input (fuzz_input.hpp): line 1 a topic filter, line 2 a topic, every further line one
// topic_scope entry. Invariants:
// - validate_topic_filter and topic_matches agree with a plain level-by-level implementation of
//   MQTT 3.1.1 section 4.7;
// - a valid filter is within itself, and a filter matches the topics made from it by filling
//   its wildcards;
// - filter_within is sound: when it says a filter is within a scope entry, every topic the
//   filter matches (of those tried) is matched by that entry;
// - check_publish_topic / check_subscribe_filter pass only what is valid, within AWS's limits
//   and inside the scope (a scope of valid filters: the plugin does not start with another);
// - check_settings reports the Will topic and the scope exactly as those checks do.
#include "fuzz_input.hpp"
#include "mqtt_settings.hpp"
#include "topic_rules.hpp"

#include <iotgw/sdk/topic.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace mqtt = iotgw::plugins::mqtt;
using iotgw::sdk::topic_matches;
using iotgw::sdk::validate_topic_filter;

std::vector<std::string_view> levels(std::string_view s) {
    std::vector<std::string_view> out;
    for (;;) {
        const size_t slash = s.find('/');
        out.push_back(s.substr(0, slash));
        if (slash == std::string_view::npos) return out;
        s.remove_prefix(slash + 1);
    }
}

// MQTT 3.1.1 4.7.1: '#' alone as the last level, '+' alone as a level; not empty.
bool reference_valid(std::string_view filter) {
    if (filter.empty()) return false;
    const auto ls = levels(filter);
    for (size_t i = 0; i < ls.size(); ++i) {
        if (ls[i].find('#') != std::string_view::npos && (ls[i] != "#" || i + 1 != ls.size())) return false;
        if (ls[i].find('+') != std::string_view::npos && ls[i] != "+") return false;
    }
    return true;
}

// MQTT 3.1.1 4.7: '+' one level (possibly empty), '#' the parent level and any below; a filter
// starting with a wildcard does not match a topic starting with '$'.
bool reference_matches(std::string_view filter, std::string_view topic) {
    if (!topic.empty() && topic[0] == '$' && !filter.empty() && (filter[0] == '+' || filter[0] == '#'))
        return false;
    const auto f = levels(filter), t = levels(topic);
    for (size_t i = 0; i < f.size(); ++i) {
        if (f[i] == "#") return true;
        if (i >= t.size() || (f[i] != "+" && f[i] != t[i])) return false;
    }
    return f.size() == t.size();
}

// Topics `filter` matches, made by filling its wildcards: every '+' with `level`, '#' with
// nothing (the parent level), with `level` and with `level`/`level`.
std::vector<std::string> instances(std::string_view filter, std::string_view level) {
    std::vector<std::string> out(3);
    const auto ls = levels(filter);
    for (size_t i = 0; i < ls.size(); ++i) {
        if (ls[i] == "#") {
            // "a/#" matches "a"; "#" alone has no parent level, its first instance is one level.
            out[0] = i == 0 ? std::string(level) : out[0];
            out[1] += std::string(i == 0 ? "" : "/") + std::string(level);
            out[2] += std::string(i == 0 ? "" : "/") + std::string(level) + "/" + std::string(level);
            return out;
        }
        const std::string_view fill = ls[i] == "+" ? level : ls[i];
        for (auto& o : out) o += std::string(i == 0 ? "" : "/") + std::string(fill);
    }
    return out;
}

void check_filter(std::string_view filter, std::string_view topic, const std::vector<std::string>& scope) {
    const bool valid = !validate_topic_filter(filter);
    IOTGW_FUZZ_CHECK(valid == reference_valid(filter));
    if (!valid) return;
    IOTGW_FUZZ_CHECK(topic_matches(filter, topic) == reference_matches(filter, topic));
    IOTGW_FUZZ_CHECK(mqtt::filter_within(filter, filter));

    // The fuzzed topic's first level fills the wildcards, when it can be a level.
    const std::string_view level = levels(topic)[0];
    std::vector<std::string> tried{std::string(topic)};
    if (level.find_first_of("+#") == std::string_view::npos) {
        for (const auto& t : instances(filter, level)) {
            // '$' topics are out of reach of a filter starting with a wildcard (4.7.2).
            if (!t.empty() && t[0] == '$' && (filter[0] == '+' || filter[0] == '#')) continue;
            IOTGW_FUZZ_CHECK(topic_matches(filter, t));
            tried.push_back(t);
        }
    }
    for (const auto& s : scope) {
        if (validate_topic_filter(s) || !mqtt::filter_within(filter, s)) continue;
        for (const auto& t : tried)
            if (topic_matches(filter, t)) IOTGW_FUZZ_CHECK(topic_matches(s, t));
    }
}

void check_rules(std::string_view filter, std::string_view topic, const std::vector<std::string>& scope) {
    if (!mqtt::check_publish_topic(topic, scope)) {
        IOTGW_FUZZ_CHECK(!topic.empty() && topic.find_first_of("+#") == std::string_view::npos);
        IOTGW_FUZZ_CHECK(!mqtt::check_limits(topic));
        bool inside = false;
        for (const auto& s : scope) inside = inside || topic_matches(s, topic);
        IOTGW_FUZZ_CHECK(inside);
    }
    if (!mqtt::check_subscribe_filter(filter, scope)) {
        IOTGW_FUZZ_CHECK(!validate_topic_filter(filter) && !mqtt::check_limits(filter));
        // The filter is within some scope entry, so every topic it matches is inside the scope.
        if (topic_matches(filter, topic)) {
            bool inside = false;
            for (const auto& s : scope) inside = inside || topic_matches(s, topic);
            IOTGW_FUZZ_CHECK(inside);
        }
    }
    if (mqtt::check_limits(topic)) IOTGW_FUZZ_CHECK(mqtt::check_publish_topic(topic, scope));
    if (!mqtt::check_client_id(topic)) {
        IOTGW_FUZZ_CHECK(!topic.empty() && topic.size() <= mqtt::kMaxClientIdBytes && topic[0] != '$');
    }
}

void check_settings(std::string_view topic, const std::vector<std::string>& scope) {
    mqtt::MqttSettings s;
    s.endpoint = "localhost";
    s.client_id = "fuzz";
    s.will.topic = std::string(topic);
    s.topic_scope = scope;
    size_t invalid_filters = 0;
    for (const auto& f : scope) invalid_filters += validate_topic_filter(f) ? 1 : 0;
    size_t scope_errors = 0, will_errors = 0;
    for (const auto& e : mqtt::check_settings(s)) {
        scope_errors += e.field == "topic_scope" ? 1 : 0;
        will_errors += e.field == "will_topic" ? 1 : 0;
    }
    IOTGW_FUZZ_CHECK(scope_errors == invalid_filters);
    IOTGW_FUZZ_CHECK(will_errors == (mqtt::check_publish_topic(topic, scope) ? 1U : 0U));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    iotgw::fuzz::LineReader in(data, size);
    const std::string_view filter = in.line();
    const std::string_view topic = in.line();
    std::vector<std::string> scope;
    while (!in.rest().empty() && scope.size() < 16) scope.emplace_back(in.line());

    check_filter(filter, topic, scope);
    check_settings(topic, scope);
    // The plugin refuses to start with an invalid scope entry (check_settings above), so the
    // publish / subscribe checks only ever see valid ones.
    std::vector<std::string> valid_scope;
    for (const auto& s : scope)
        if (!validate_topic_filter(s)) valid_scope.push_back(s);
    check_rules(filter, topic, valid_scope);
    return 0;
}
