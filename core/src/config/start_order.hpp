// The order instances start in: whatever an instance refers to (REF fields) starts before it.
#pragma once

#include "instances.hpp"
#include "load_context.hpp"

#include <vector>

namespace iotgw::core::config_detail {

// Dependencies first; ties by kind (credentials, connections, sinks, processors, sources: the
// consumers of messages are ready before the producers), then declaration order. Reports REF
// cycles and returns an empty vector for them.
std::vector<InstanceConfig> start_order(LoadContext& ctx, std::vector<InstanceDraft>& drafts);

}  // namespace iotgw::core::config_detail
