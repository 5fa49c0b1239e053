#include "plugin_file_trust.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

namespace iotgw::core::plugin_detail {

namespace fs = std::filesystem;

const char* const kUnsafePluginOverride =
    " For a development tree only, --allow-unsafe-plugin-dirs (or IOTGW_ALLOW_UNSAFE_PLUGIN_DIRS=1) "
    "turns this check off.";

namespace {

std::string user_text(uid_t uid) {
    std::string text = "uid " + std::to_string(uid);
    // getpwuid_r: the loader may run while another thread resolves users (tests do).
    char buf[1024];
    struct passwd pw {};
    struct passwd* found = nullptr;
    if (::getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found != nullptr)
        text += " (" + std::string(found->pw_name) + ")";
    return text;
}

std::string mode_text(mode_t mode) {
    char out[8];
    std::snprintf(out, sizeof out, "%04o", static_cast<unsigned>(mode & 07777));
    return out;
}

}  // namespace

PluginFileTrust::PluginFileTrust(uid_t service_uid) : service_uid_(service_uid) {}

// One file or directory: owned by root or the gateway's user, and not writable by group or
// others. The one exception, for directories above the plugin directory only: a sticky
// directory (/tmp), where others may add entries but cannot rename or remove ours, so the path
// below it stays ours. The plugin directory itself gets no such exception: anyone could add a
// library to a world-writable one.
std::optional<std::string> PluginFileTrust::entry_problem(const fs::path& path, bool is_plugin_dir) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0)
        return "cannot check " + path.string() + ": " + std::strerror(errno) + ".";
    const bool owner_ok = st.st_uid == 0 || st.st_uid == service_uid_;
    const bool is_dir = S_ISDIR(st.st_mode);
    const bool sticky_ancestor = is_dir && !is_plugin_dir && (st.st_mode & S_ISVTX) != 0;
    const bool writable_by_others = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && !sticky_ancestor;
    if (owner_ok && !writable_by_others) return std::nullopt;

    const std::string what = is_dir ? "directory" : "file";
    std::string text = path.string() + " is owned by " + user_text(st.st_uid) + " with mode " +
                       mode_text(st.st_mode) + ": a plugin " + what +
                       (is_dir && !is_plugin_dir ? " (or a directory above one)" : "") +
                       " must belong to root or to the gateway's user (" + user_text(service_uid_) +
                       ") and must not be writable by group or others, or whoever can change it can run code "
                       "as the gateway. Fix: ";
    if (!owner_ok) text += "chown root:root " + path.string() + (writable_by_others ? " && " : "");
    if (writable_by_others) text += "chmod go-w " + path.string();
    text += ".";
    return text;
}

std::optional<std::string> PluginFileTrust::chain_problem(const fs::path& canonical_dir, bool is_plugin_dir) {
    // The plugin directory is judged more strictly than the same directory as an ancestor.
    const auto key = std::make_pair(canonical_dir, is_plugin_dir);
    if (auto it = checked_.find(key); it != checked_.end()) return it->second;
    std::optional<std::string> problem = entry_problem(canonical_dir, is_plugin_dir);
    if (!problem && canonical_dir.has_relative_path())
        problem = chain_problem(canonical_dir.parent_path(), false);
    checked_.emplace(key, problem);
    return problem;
}

std::optional<std::string> PluginFileTrust::directory_problem(const fs::path& dir) {
    std::error_code ec;
    const fs::path canonical = fs::canonical(dir, ec);
    if (ec) return std::nullopt;  // the registry reports a missing or unreadable directory itself
    auto problem = chain_problem(canonical, true);
    if (!problem) return std::nullopt;
    const std::string resolved = canonical == dir ? "" : " (which is " + canonical.string() + ")";
    return "plugin directory " + dir.string() + resolved + " refused: " + *problem + kUnsafePluginOverride;
}

std::optional<std::string> PluginFileTrust::file_problem(const fs::path& canonical,
                                                         const std::string& shown) {
    auto problem = entry_problem(canonical, false);
    if (!problem) problem = chain_problem(canonical.parent_path(), true);
    if (!problem) return std::nullopt;
    const std::string resolved = canonical.string() == shown ? "" : " (which is " + canonical.string() + ")";
    return shown + resolved + ": plugin refused: " + *problem + kUnsafePluginOverride;
}

}  // namespace iotgw::core::plugin_detail
