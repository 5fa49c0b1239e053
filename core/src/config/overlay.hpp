// Deep merge of a conf.d overlay into the main document. Nodes are moved, not copied: toml++
// drops source positions on copy, and diagnostics must point into the overlay file.
#pragma once

#include <toml++/toml.h>

namespace iotgw::core::config_detail {

// Tables merge recursively; scalars and arrays replace; top-level [[pipelines]] entries merge
// by `name` (same name replaces the whole pipeline, new names append). `overlay` is consumed.
void merge_overlay(toml::table& main, toml::table& overlay);

}  // namespace iotgw::core::config_detail
