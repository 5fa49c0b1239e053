// Vetting of a plugin descriptor, shared by libraries and builtins. Kept apart from the loader
// so the rules read as one list and the loader only deals with files and Boost.DLL.
#pragma once

#include <iotgw/plugin_abi.h>
#include <iotgw/core/abi10_layout.hpp>
#include <iotgw/core/plugin_registry.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace iotgw::core::plugin_detail {

// No descriptor or credentials interface that claims ABI 1.x may be shorter than its 1.0 form
// (later minors only append). Taken from the frozen 1.0 layout, not from the live header, which
// grows with every minor.
inline constexpr std::size_t kAbi10DescriptorSize = abi10::kDescriptorSize;
inline constexpr std::size_t kAbi10CredentialsApiSize = abi10::kCredentialsApiSize;
// The frozen head (size, abi_version) every descriptor of every ABI starts with.
inline constexpr std::size_t kDescriptorHeadSize = abi10::kHeadSize;

// "1.0", "2.0", "1.99".
std::string format_abi(uint32_t abi_version);

// Checks `d` (the entry point's result for `origin`) and fills `out` with a copy of what the
// registry keeps. Returns the complete failure sentence if the plugin cannot be used.
std::optional<std::string> check_descriptor(const iotgw_plugin_descriptor* d, std::string_view origin,
                                            LoadedPlugin& out);

// The loader's text (dlerror) turned into "cannot load ...: what to do", `origin` first.
std::string describe_load_error(std::string_view origin, std::string_view loader_reason);

}  // namespace iotgw::core::plugin_detail
