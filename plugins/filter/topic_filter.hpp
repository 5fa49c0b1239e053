// MQTT topic-filter matching ("+" one level, "#" the rest), as the broker applies it, so a
// pipeline filter and a subscription with the same text select the same messages.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace iotgw::plugins::filter {

// Why `filter` is not a valid MQTT topic filter, or nullopt if it is.
std::optional<std::string> validate_topic_filter(std::string_view filter);

// True if `topic` matches the (valid) `filter`. Topics starting with '$' are not matched by a
// leading wildcard, as MQTT 3.1.1 section 4.7.2 requires.
bool topic_matches(std::string_view filter, std::string_view topic) noexcept;

}  // namespace iotgw::plugins::filter
