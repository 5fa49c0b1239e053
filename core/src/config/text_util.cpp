#include "text_util.hpp"

#include <algorithm>

namespace iotgw::core::config_detail {

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t above = row[j];
            std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
            diagonal = above;
        }
    }
    return row[b.size()];
}

std::optional<std::string> closest(std::string_view word, const std::vector<std::string>& candidates) {
    constexpr std::size_t kMaxDistance = 2;
    std::optional<std::string> best;
    std::size_t best_distance = kMaxDistance + 1;
    // Fuzzed or pasted input can be huge; no sensible suggestion comes from comparing it.
    if (word.size() > 256) return best;
    for (const auto& c : candidates) {
        std::size_t d = edit_distance(word, c);
        if (d < best_distance && d < std::max(word.size(), c.size())) {
            best = c;
            best_distance = d;
        }
    }
    return best;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
    auto c = closest(word, candidates);
    return c ? " (did you mean '" + *c + "'?)" : std::string();
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out += separator;
        out += items[i];
    }
    return out;
}

std::string quote_text(std::string_view text, char quote) {
    constexpr std::size_t kMax = 60;
    std::string out(1, quote);
    if (text.size() > kMax) {
        out.append(text.substr(0, kMax));
        out += "...";
    } else {
        out.append(text);
    }
    out += quote;
    return out;
}

}  // namespace iotgw::core::config_detail
