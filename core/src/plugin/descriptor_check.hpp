// Vetting of a plugin descriptor, shared by libraries and builtins. Kept apart from the loader
// so the rules read as one list and the loader only deals with files and Boost.DLL.
#pragma once

#include <iotgw/core/plugin_registry.hpp>
#include <iotgw/plugin_abi.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace iotgw::core::plugin_detail {

// An ABI 1.0 descriptor ends with kind_api; later minors only append, so no descriptor that
// claims 1.x may be shorter.
inline constexpr std::size_t kAbi10DescriptorSize =
    offsetof(iotgw_plugin_descriptor, kind_api) + sizeof(const void*);
// The frozen head (size, abi_version) every descriptor of every ABI starts with.
inline constexpr std::size_t kDescriptorHeadSize =
    offsetof(iotgw_plugin_descriptor, abi_version) + sizeof(uint32_t);
inline constexpr std::size_t kAbi10CredentialsApiSize =
    offsetof(iotgw_credentials_api, get) + sizeof(void*);

// "1.0", "2.0", "1.99".
std::string format_abi(uint32_t abi_version);

// Checks `d` (the entry point's result for `origin`) and fills `out` with a copy of what the
// registry keeps. Returns the complete failure sentence if the plugin cannot be used.
std::optional<std::string> check_descriptor(const iotgw_plugin_descriptor* d, std::string_view origin,
                                            LoadedPlugin& out);

// The loader's text (dlerror) turned into "cannot load ...: what to do", `origin` first.
std::string describe_load_error(std::string_view origin, std::string_view loader_reason);

}  // namespace iotgw::core::plugin_detail
