// Names of plugin kinds as they appear in configs ("[connections.cloud]") and in messages.
#pragma once

#include <iotgw/plugin_abi.h>

#include <array>
#include <optional>
#include <string_view>

namespace iotgw::core {

inline constexpr std::array<iotgw_kind, 6> all_kinds{IOTGW_KIND_CREDENTIALS, IOTGW_KIND_CONNECTION,
                                                     IOTGW_KIND_SOURCE,      IOTGW_KIND_PROCESSOR,
                                                     IOTGW_KIND_SINK,        IOTGW_KIND_JOB_HANDLER};

// The ABI minor that introduced a kind: a plugin of that kind declaring an older one is refused.
inline constexpr uint32_t kind_since_minor(iotgw_kind kind) noexcept {
    return kind == IOTGW_KIND_JOB_HANDLER ? 3u : 0u;
}

// The config table holding instances of the kind: "credentials", "connections", "sources", ...
std::string_view kind_table(iotgw_kind kind) noexcept;
// Singular, for messages: "credentials", "connection", "source", "processor", "sink", "job handler".
std::string_view kind_name(iotgw_kind kind) noexcept;
std::optional<iotgw_kind> kind_from_table(std::string_view table) noexcept;
bool is_valid_kind(uint32_t kind) noexcept;

}  // namespace iotgw::core
