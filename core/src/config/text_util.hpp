// Small string helpers shared by the config validators: suggestions and lists in messages.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace iotgw::core::config_detail {

std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` if it is within edit distance 2 (ties: the first one).
std::optional<std::string> closest(std::string_view word, const std::vector<std::string>& candidates);

// " (did you mean 'x'?)" or "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

std::string join(const std::vector<std::string>& items, std::string_view separator = ", ");

// "'text'" with long texts shortened, for quoting user input in messages.
std::string quote_text(std::string_view text, char quote = '\'');

}  // namespace iotgw::core::config_detail
