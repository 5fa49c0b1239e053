#include <iotgw/core/kinds.hpp>

namespace iotgw::core {

std::string_view kind_table(iotgw_kind kind) noexcept {
    switch (kind) {
        case IOTGW_KIND_CREDENTIALS: return "credentials";
        case IOTGW_KIND_CONNECTION: return "connections";
        case IOTGW_KIND_SOURCE: return "sources";
        case IOTGW_KIND_PROCESSOR: return "processors";
        case IOTGW_KIND_SINK: return "sinks";
        case IOTGW_KIND_JOB_HANDLER: return "job_handlers";
    }
    return "unknown";
}

std::string_view kind_name(iotgw_kind kind) noexcept {
    switch (kind) {
        case IOTGW_KIND_CREDENTIALS: return "credentials";
        case IOTGW_KIND_CONNECTION: return "connection";
        case IOTGW_KIND_SOURCE: return "source";
        case IOTGW_KIND_PROCESSOR: return "processor";
        case IOTGW_KIND_SINK: return "sink";
        case IOTGW_KIND_JOB_HANDLER: return "job handler";
    }
    return "unknown";
}

std::optional<iotgw_kind> kind_from_table(std::string_view table) noexcept {
    for (iotgw_kind k : all_kinds)
        if (kind_table(k) == table) return k;
    return std::nullopt;
}

bool is_valid_kind(uint32_t kind) noexcept {
    for (iotgw_kind k : all_kinds)
        if (static_cast<uint32_t>(k) == kind) return true;
    return false;
}

}  // namespace iotgw::core
