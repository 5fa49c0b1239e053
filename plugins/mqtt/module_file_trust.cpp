#include "module_file_trust.hpp"

#include <sys/stat.h>

namespace iotgw::plugins::mqtt {

std::string module_file_problem(const std::filesystem::path& path, uid_t euid) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        return path.string() +
               " does not exist (client = \"paho-sync\" needs it: reinstall the iotgw package)";
    if (st.st_uid != 0 && st.st_uid != euid)
        return path.string() + " is owned by uid " + std::to_string(st.st_uid) +
               ", neither root nor the user the gateway runs as: refusing to load it";
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
        return path.string() + " is writable by its group or by others: refusing to load it (chmod go-w " +
               path.string() + ")";
    return {};
}

}  // namespace iotgw::plugins::mqtt
