// toml++ glue: parsing with diagnostics, positions of nodes and keys, and describing a value
// for "found ..." in messages.
#pragma once

#include <iotgw/core/diagnostics.hpp>

#include <toml++/toml.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace iotgw::core::config_detail {

// `display_path` is what diagnostics (and every node's source path) call the document.
std::optional<toml::table> parse_toml(std::string_view text, const std::string& display_path,
                                      Diagnostics& diags);

SourcePos pos_of(const toml::source_region& region);
inline SourcePos pos_of(const toml::node& n) { return pos_of(n.source()); }
// The key's own position when toml++ recorded one, else its value's.
SourcePos pos_of(const toml::key& k, const toml::node& value);

// "file:line" (no column), for naming a place inside a message.
std::string place(const SourcePos& p);

// "integer 10", "string \"abc\"", "array", "table", ...
std::string describe_node(const toml::node& n);

// The entries of a table in the order they were written. toml++ keeps tables sorted by key,
// but messages and declaration order should follow the files. `files` lists the documents
// (main file, then overlays in the order applied); nodes from other sources sort last.
struct Entry {
    const toml::key* key;
    const toml::node* node;
};
std::size_t file_rank(const toml::source_region& r, const std::vector<std::string>& files);
bool written_before(const toml::source_region& a, const toml::source_region& b,
                    const std::vector<std::string>& files);
std::vector<Entry> ordered_entries(const toml::table& t, const std::vector<std::string>& files);

}  // namespace iotgw::core::config_detail
