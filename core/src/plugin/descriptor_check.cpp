#include "descriptor_check.hpp"

#include <iotgw/core/field_spec.hpp>
#include <iotgw/core/kinds.hpp>
#include <iotgw/core/version.hpp>

#include <algorithm>

namespace iotgw::core::plugin_detail {
namespace {

constexpr std::string_view kSdkRebuild = "rebuild it against iotgw-sdk 1.x";

std::string plugin_label(const LoadedPlugin& p) {
    return "plugin '" + p.name + "' (" + std::string(kind_name(p.kind)) + ")";
}

bool valid_name(std::string_view name) noexcept {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

std::string trim_sentence(std::string s) {
    while (!s.empty() && (s.back() == '.' || s.back() == ' ' || s.back() == '\n')) s.pop_back();
    return s;
}

bool contains(std::string_view haystack, std::string_view needle) noexcept {
    return haystack.find(needle) != std::string_view::npos;
}

}  // namespace

std::string format_abi(uint32_t abi_version) {
    return std::to_string(IOTGW_ABI_VERSION_MAJOR(abi_version)) + "." +
           std::to_string(IOTGW_ABI_VERSION_MINOR(abi_version));
}

namespace {

// Whether this gateway can read `d` at all: present, of our ABI major, not newer than us, and at
// least as long as an ABI 1.0 descriptor.
std::optional<std::string> check_abi(const iotgw_plugin_descriptor* d, const std::string& o) {
    if (d == nullptr) {
        return o +
               ": its entry point '" IOTGW_ENTRY_SYMBOL
               "' returned no descriptor (NULL), which "
               "means the plugin refused to run with this gateway (iotgw " +
               std::string(gateway_version()) + ", plugin ABI " + format_abi(IOTGW_ABI_VERSION) +
               "): see the plugin's own log message for why, or install a build of the plugin made "
               "for this gateway.";
    }
    // Only the frozen head may be read before the ABI version is known to be ours.
    if (d->size < kDescriptorHeadSize) {
        return o + ": wrong struct size: its descriptor is " + std::to_string(d->size) +
               " bytes, too small to hold even the size and ABI version every descriptor starts "
               "with: the library was not built with the iotgw SDK; " + std::string(kSdkRebuild) + ".";
    }
    const uint32_t abi = d->abi_version;
    const uint32_t major = IOTGW_ABI_VERSION_MAJOR(abi);
    if (major != IOTGW_ABI_MAJOR) {
        return o + ": built for plugin ABI " + format_abi(abi) + "; this gateway (iotgw " +
               gateway_version() + ") supports ABI " + std::to_string(IOTGW_ABI_MAJOR) +
               ".x: rebuild the plugin against iotgw-sdk " + std::to_string(IOTGW_ABI_MAJOR) +
               ".x, or install a gateway that supports ABI " + std::to_string(major) + ".";
    }
    if (IOTGW_ABI_VERSION_MINOR(abi) > IOTGW_ABI_MINOR) {
        return o + ": needs gateway plugin ABI " + format_abi(abi) + " or newer; this gateway provides " +
               format_abi(IOTGW_ABI_VERSION) + ": upgrade the gateway.";
    }
    if (d->size < kAbi10DescriptorSize) {
        return o + ": wrong struct size: its descriptor is " + std::to_string(d->size) +
               " bytes, but every ABI " + format_abi(abi) + " descriptor has at least " +
               std::to_string(kAbi10DescriptorSize) +
               ": the plugin was not built with the SDK headers it claims; " + std::string(kSdkRebuild) + ".";
    }
    return std::nullopt;
}

// The kind and the name, which every later message names the plugin by.
std::optional<std::string> check_identity(const iotgw_plugin_descriptor& d, const std::string& o) {
    if (!is_valid_kind(d.kind)) {
        return o + ": invalid plugin kind " + std::to_string(d.kind) +
               " (expected 1 credentials, 2 connection, 3 source, 4 processor, 5 sink or 6 job handler): "
               "the descriptor is corrupt; " + std::string(kSdkRebuild) + ".";
    }
    // A kind newer than the ABI the plugin claims: its descriptor cannot be what it says.
    const auto kind = static_cast<iotgw_kind>(d.kind);
    if (IOTGW_ABI_VERSION_MINOR(d.abi_version) < kind_since_minor(kind)) {
        return o + ": a " + std::string(kind_name(kind)) + " plugin must be written for plugin ABI 1." +
               std::to_string(kind_since_minor(kind)) + " or newer, but it declares " +
               format_abi(d.abi_version) + ": declare .abi_minor = " + std::to_string(kind_since_minor(kind)) +
               " in IOTGW_DECLARE_PLUGIN and rebuild it.";
    }
    if (d.name == nullptr || d.name[0] == '\0') {
        return o + ": the descriptor has no plugin name: set .name in IOTGW_DECLARE_PLUGIN and "
                   "rebuild the plugin.";
    }
    if (!valid_name(d.name)) {
        return o + ": plugin name '" + d.name +
               "' is not valid: it is what configs write as type = \"...\" and may contain only "
               "a-z, 0-9 and '_': rename the plugin and rebuild it.";
    }
    return std::nullopt;
}

// The callbacks every plugin needs, and those its kind needs.
std::optional<std::string> check_callbacks(const iotgw_plugin_descriptor& d, iotgw_kind kind,
                                           const std::string& label) {
    if (d.create == nullptr || d.destroy == nullptr) {
        return label + " has no " + (d.create == nullptr ? "create" : "destroy") +
               " callback, so no instance of it can be made: the descriptor is incomplete; declare "
               "the plugin with IOTGW_DECLARE_PLUGIN and " + std::string(kSdkRebuild) + ".";
    }
    if ((kind == IOTGW_KIND_PROCESSOR || kind == IOTGW_KIND_SINK) && d.on_message == nullptr) {
        return label + " has no on_message callback, which every " + std::string(kind_name(kind)) +
               " needs to receive messages: implement it and rebuild the plugin.";
    }
    if (kind == IOTGW_KIND_CONNECTION && d.open_endpoint == nullptr) {
        return label + " has no open_endpoint callback, which every connection needs to resolve "
                       "\"name:address\" pipeline references: implement it (iotgw::sdk::Connection "
                       "does) and rebuild the plugin.";
    }
    return std::nullopt;
}

// kind_api of a credentials plugin: present, at least the ABI 1.0 interface, with get().
std::optional<std::string> check_credentials_api(const iotgw_plugin_descriptor& d, const std::string& label) {
    const auto* api = static_cast<const iotgw_credentials_api*>(d.kind_api);
    if (api == nullptr) {
        return label + " has no credentials interface (kind_api is NULL): derive the plugin from "
                       "iotgw::sdk::CredentialsProvider and rebuild it.";
    }
    if (api->size < kAbi10CredentialsApiSize) {
        return label + ": wrong struct size: its credentials interface is " + std::to_string(api->size) +
               " bytes, but the ABI 1.0 one has at least " + std::to_string(kAbi10CredentialsApiSize) +
               "; " + std::string(kSdkRebuild) + ".";
    }
    if (api->get == nullptr) {
        return label + " has a credentials interface without a get function: implement "
                       "credentials() and rebuild the plugin.";
    }
    return std::nullopt;
}

// kind_api of a job handler: the whole ABI 1.3 interface.
std::optional<std::string> check_job_handler_api(const iotgw_plugin_descriptor& d, const std::string& label) {
    const auto* api = static_cast<const iotgw_job_handler_api*>(d.kind_api);
    if (api == nullptr) {
        return label + " has no job handler interface (kind_api is NULL): derive the plugin from "
                       "iotgw::sdk::JobHandler and rebuild it.";
    }
    if (api->size < sizeof(iotgw_job_handler_api)) {
        return label + ": wrong struct size: its job handler interface is " + std::to_string(api->size) +
               " bytes, but the ABI 1.3 one has " + std::to_string(sizeof(iotgw_job_handler_api)) + "; " +
               std::string(kSdkRebuild) + ".";
    }
    if (api->describe == nullptr || api->start == nullptr || api->cancel == nullptr) {
        return label + " has a job handler interface without " +
               (api->describe == nullptr ? "describe" : api->start == nullptr ? "start" : "cancel") +
               ": implement it (iotgw::sdk::JobHandler does) and rebuild the plugin.";
    }
    return std::nullopt;
}

}  // namespace

std::optional<std::string> check_descriptor(const iotgw_plugin_descriptor* d, std::string_view origin,
                                            LoadedPlugin& out) {
    const std::string o(origin);
    if (auto problem = check_abi(d, o)) return problem;
    if (auto problem = check_identity(*d, o)) return problem;

    out.descriptor = d;
    out.kind = static_cast<iotgw_kind>(d->kind);
    out.name = d->name;
    out.abi_version = d->abi_version;
    out.origin = o;
    const std::string label = o + ": " + plugin_label(out);

    if (d->version == nullptr || d->version[0] == '\0') {
        return label + " has no version: set .version in IOTGW_DECLARE_PLUGIN and rebuild the plugin.";
    }
    out.version = d->version;
    out.description = d->description != nullptr ? d->description : "";

    if (auto problem = check_callbacks(*d, out.kind, label)) return problem;
    if (out.kind == IOTGW_KIND_CREDENTIALS) {
        if (auto problem = check_credentials_api(*d, label)) return problem;
    }
    if (out.kind == IOTGW_KIND_JOB_HANDLER) {
        if (auto problem = check_job_handler_api(*d, label)) return problem;
    }
    if (auto problem = read_schema(*d, out.fields)) {
        return label + " has an invalid config schema: " + trim_sentence(*problem) +
               ". Fix the schema in the plugin and rebuild it.";
    }
    return std::nullopt;
}

std::string describe_load_error(std::string_view origin, std::string_view loader_reason) {
    // dlerror() repeats the path we passed; the message already starts with it.
    std::string reason(loader_reason);
    const std::string prefix = std::string(origin) + ": ";
    if (reason.rfind(prefix, 0) == 0) reason.erase(0, prefix.size());
    if (reason.empty()) reason = "the dynamic loader gave no reason";

    std::string hint;
    if (contains(reason, "undefined symbol")) {
        hint = "the plugin uses a function that neither it nor the libraries it links provide: "
               "rebuild it linking every library it needs (iotgw_sdk_add_plugin links with "
               "-Wl,--no-undefined to catch this at build time), or install the library version it "
               "was built for";
    } else if (contains(reason, "invalid ELF header") || contains(reason, "file too short") ||
               contains(reason, "not an ELF")) {
        hint = "it is not a shared library; if this is not a plugin, move it out of the plugin "
               "directory";
    } else if (contains(reason, "ELF class") || contains(reason, "machine") ||
               contains(reason, "ELF file")) {
        hint = "it was built for another architecture or system: rebuild the plugin for this machine";
    } else if (contains(reason, "cannot open shared object file")) {
        hint = "a library it depends on is missing: install it (`ldd " + std::string(origin) +
               "` lists what is not found), or rebuild the plugin without it";
    } else {
        hint = "check that it was built for this system and that the libraries it needs are "
               "installed (`ldd " + std::string(origin) + "`)";
    }
    return std::string(origin) + ": cannot load the library (" + reason + "): " + hint + ".";
}

}  // namespace iotgw::core::plugin_detail
