// Provisioning templates: names, files and the parsed template's accessors. Parsing is in
// provisioning_template_parse.cpp, evaluation in provisioning_template_evaluate.cpp; both share the
// checked form in provisioning_template_expr.hpp.
#include <algorithm>

#include "provisioning.hpp"
#include "provisioning_template_expr.hpp"

namespace localcore {

bool ProvisioningTemplate::valid_name(std::string_view name) {
    if (name.empty() || name.size() > 36) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
               c == '-';
    });
}

std::filesystem::path ProvisioningTemplate::file_for(const std::filesystem::path& dir,
                                                     std::string_view name) {
    if (!valid_name(name))
        throw Error("invalid template name '" + std::string(name) +
                    "'; template names are 1 to 36 characters from A-Z a-z 0-9 _ -");
    return dir / (std::string(name) + "-template.json");
}

std::optional<ProvisioningTemplate> ProvisioningTemplate::load(const std::filesystem::path& dir,
                                                               std::string_view name) {
    const auto file = file_for(dir, name);
    auto text = read_file_if_exists(file);
    if (!text) return std::nullopt;
    try {
        return parse(*text, std::string(name));
    } catch (const TemplateError& e) {
        throw TemplateError(std::string(e.what()) + " (file " + file.string() + ")");
    }
}

const std::string& ProvisioningTemplate::name() const { return impl_->name; }

const std::map<std::string, std::optional<std::string>>& ProvisioningTemplate::parameters() const {
    return impl_->parameters;
}

}  // namespace localcore
