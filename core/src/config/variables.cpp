#include "variables.hpp"

#include "text_util.hpp"

#include <cstdlib>

namespace iotgw::core::config_detail {

std::optional<std::string> Variables::substitute(std::string& text, bool env_only) const {
    if (text.find('$') == std::string::npos) return std::nullopt;
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        if (text.compare(i, 3, "$${") == 0) {
            out += "${";
            i += 3;
            continue;
        }
        if (text.compare(i, 2, "${") != 0) {
            out += text[i++];
            continue;
        }
        std::size_t close = text.find('}', i + 2);
        if (close == std::string::npos)
            return "unterminated '${' in " + quote_text(text, '"') + " (write '$${' for a literal '${')";
        std::string name = text.substr(i + 2, close - i - 2);
        if (name.rfind("env:", 0) == 0) {
            std::string env = name.substr(4);
            if (env.empty()) return std::string("'${env:}' names no environment variable");
            const char* value = std::getenv(env.c_str());
            if (value == nullptr) return "environment variable '" + env + "' is not set (used as '${" + name + "}')";
            out += value;
        } else if (env_only) {
            return "'${" + name + "}' cannot be used in [gateway]; only ${env:NAME} can";
        } else {
            auto it = values_.find(name);
            if (it == values_.end()) {
                std::vector<std::string> names;
                for (const auto& [k, v] : values_) names.push_back(k);
                return "unknown variable " + quote_text("${" + name + "}") + did_you_mean(name, names) +
                       "; defined variables: " + join(names) + ", env:NAME";
            }
            out += it->second;
        }
        i = close + 1;
    }
    text = std::move(out);
    return std::nullopt;
}

}  // namespace iotgw::core::config_detail
