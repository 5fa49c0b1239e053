// Plugin instances: [credentials.x], [connections.x], [sources.x], [processors.x], [sinks.x].
#pragma once

#include <iotgw/core/gateway_config.hpp>

#include "load_context.hpp"

#include <map>
#include <string>
#include <vector>

namespace iotgw::core::config_detail {

struct InstanceDraft {
    InstanceConfig config;
    const toml::table* table = nullptr;
    std::size_t order = 0;  // declaration order across files
};

using InstanceIndex = std::map<std::string, const InstanceDraft*, std::less<>>;

// Finds every instance, checks names (syntax, uniqueness across kinds) and resolves `type` to a
// plugin. Instances whose plugin is unknown keep plugin == nullptr (already reported).
std::vector<InstanceDraft> collect_instances(LoadContext& ctx, const toml::table& root);

// Checks the fields of one instance against its plugin's schema, fills defaults, checks
// REF/REF_ARRAY targets against `index` and records them in depends_on.
void validate_instance(LoadContext& ctx, InstanceDraft& draft, const InstanceIndex& index);

// "[sources.beat]"
std::string header(const InstanceConfig& i);

}  // namespace iotgw::core::config_detail
