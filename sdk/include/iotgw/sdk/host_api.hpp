// The host-API table handed to the plugin's entry point, kept for the SDK's wrappers.
#pragma once

#include <iotgw/plugin_abi.h>

#include <cstddef>
#include <utility>

// Not "namespace iotgw::sdk": GCC rejects attributes on a nested namespace definition.
namespace iotgw {
namespace [[gnu::visibility("hidden")]] sdk {
namespace detail {

// One pointer per plugin library. Hidden visibility (the namespace attribute) keeps it out of
// the dynamic symbol table: a default-visibility inline static would become STB_GNU_UNIQUE and
// silently stop the library from ever being unloaded.
inline const iotgw_host_api*& host_api_slot() noexcept {
    static const iotgw_host_api* api = nullptr;
    return api;
}

inline const iotgw_host_api& host_api() noexcept { return *host_api_slot(); }

// True if the host's table is long enough to contain the member at `offset`: how a plugin
// built against a newer minor ABI finds out whether an appended function exists.
inline bool host_has(std::size_t offset, std::size_t member_size) noexcept {
    const iotgw_host_api* a = host_api_slot();
    return a != nullptr && offset + member_size <= a->size;
}

}  // namespace detail
}  // namespace sdk
}  // namespace iotgw

#define IOTGW_HOST_HAS(member) \
    (::iotgw::sdk::detail::host_has(offsetof(iotgw_host_api, member), sizeof(std::declval<iotgw_host_api&>().member)))
