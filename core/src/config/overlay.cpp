#include "overlay.hpp"

#include <optional>
#include <string>

namespace iotgw::core::config_detail {

namespace {

void move_into(toml::table& dst, const toml::key& key, toml::node& value) {
    value.visit([&](auto& concrete) { dst.insert_or_assign(key, std::move(concrete)); });
}

std::optional<std::string> pipeline_name(const toml::node& n) {
    const toml::table* t = n.as_table();
    if (t == nullptr) return std::nullopt;
    const toml::node* name = t->get("name");
    if (name == nullptr || !name->is_string()) return std::nullopt;
    return name->as_string()->get();
}

void merge_pipelines(toml::array& dst, toml::array& src) {
    for (std::size_t i = 0; i < src.size(); ++i) {
        toml::node& p = *src.get(i);
        auto name = pipeline_name(p);
        bool replaced = false;
        for (std::size_t j = 0; name && j < dst.size(); ++j) {
            if (pipeline_name(*dst.get(j)) == name) {
                dst.replace(dst.cbegin() + static_cast<std::ptrdiff_t>(j), std::move(*p.as_table()));
                replaced = true;
                break;
            }
        }
        // Entries that are not named tables are appended as they are; validation reports them.
        if (!replaced) p.visit([&](auto& concrete) { dst.push_back(std::move(concrete)); });
    }
}

void merge_tables(toml::table& dst, toml::table& src, bool top_level) {
    for (auto&& [key, value] : src) {
        toml::node* existing = dst.get(key.str());
        if (existing != nullptr && existing->is_table() && value.is_table()) {
            merge_tables(*existing->as_table(), *value.as_table(), false);
        } else if (top_level && key.str() == "pipelines" && existing != nullptr && existing->is_array() &&
                   value.is_array()) {
            merge_pipelines(*existing->as_array(), *value.as_array());
        } else {
            move_into(dst, key, value);
        }
    }
}

}  // namespace

void merge_overlay(toml::table& main, toml::table& overlay) { merge_tables(main, overlay, true); }

}  // namespace iotgw::core::config_detail
