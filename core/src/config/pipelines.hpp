// [[pipelines]]: from -> via... -> to..., checked against the instances and what their
// plugins can do (accept messages, offer addressable endpoints).
#pragma once

#include <iotgw/core/gateway_config.hpp>

#include "instances.hpp"
#include "load_context.hpp"

#include <set>
#include <string>
#include <vector>

namespace iotgw::core::config_detail {

// Validated pipelines; `used` receives every instance a pipeline refers to.
std::vector<PipelineConfig> read_pipelines(LoadContext& ctx, const toml::table& root, const InstanceIndex& index,
                                           std::set<std::string, std::less<>>& used);

}  // namespace iotgw::core::config_detail
