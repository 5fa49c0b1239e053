// Policy wildcard matching: `*` any run (including '/'), `?` one character, `\x` a literal x (the
// escape only ever comes from expand(), so that substituted values never act as wildcards).
#include "policy.hpp"

namespace localcore::detail {
namespace {

enum class Kind { literal, one, any };
struct Element {
    Kind kind;
    char c;
};

std::vector<Element> compile(std::string_view pattern) {
    std::vector<Element> out;
    out.reserve(pattern.size());
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        const char c = pattern[i];
        if (c == '\\' && i + 1 < pattern.size()) {
            out.push_back({Kind::literal, pattern[++i]});
        } else if (c == '*') {
            out.push_back({Kind::any, c});
        } else if (c == '?') {
            out.push_back({Kind::one, c});
        } else {
            out.push_back({Kind::literal, c});
        }
    }
    return out;
}

}  // namespace

bool wildcard_match(std::string_view pattern_text, std::string_view text) {
    const std::vector<Element> pattern = compile(pattern_text);
    // Greedy match that only ever backtracks to the last `*`: O(pattern * text) worst case, never
    // exponential, whatever a policy or a topic contains.
    std::size_t p = 0, t = 0;
    std::size_t star_p = std::string_view::npos, star_t = 0;
    while (t < text.size()) {
        if (p < pattern.size() && pattern[p].kind == Kind::any) {
            star_p = p++;
            star_t = t;
        } else if (p < pattern.size() && (pattern[p].kind == Kind::one || pattern[p].c == text[t])) {
            ++p;
            ++t;
        } else if (star_p != std::string_view::npos) {
            p = star_p + 1;
            t = ++star_t;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p].kind == Kind::any) ++p;
    return p == pattern.size();
}

}  // namespace localcore::detail
