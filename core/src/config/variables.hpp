// ${name} substitution in config strings: ${thing}, [gateway.variables] entries and
// ${env:NAME}; "$${" stands for a literal "${". Substituted text is not scanned again, so a
// value can never expand into another reference.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace iotgw::core::config_detail {

class Variables {
public:
    void set(const std::string& name, std::string value) { values_[name] = std::move(value); }
    const std::map<std::string, std::string>& values() const noexcept { return values_; }

    // Replaces references in `text`; returns an error text (and leaves `text` unspecified).
    // With `env_only`, only ${env:NAME} is allowed: used for [gateway] itself, which is read
    // before the variables exist.
    std::optional<std::string> substitute(std::string& text, bool env_only = false) const;

private:
    std::map<std::string, std::string> values_;
};

}  // namespace iotgw::core::config_detail
