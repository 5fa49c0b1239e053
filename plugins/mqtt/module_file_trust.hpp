// Whether the mqtt plugin may load a module of its own from a file (paho_sync_loader.cpp): the
// rule the gateway applies to plugin files, owned by root or by the user the gateway runs as and
// writable by nobody else, since whoever can replace the file runs code as the gateway.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace iotgw::plugins::mqtt {

// "" when `path` (a module file or the directory holding it) passes, else the sentence for the
// log, naming the path and what to do. `euid`: the user the gateway runs as.
std::string module_file_problem(const std::filesystem::path& path, uid_t euid);

}  // namespace iotgw::plugins::mqtt
