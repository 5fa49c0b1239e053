// A command run without a shell (the update helper's dpkg, dpkg-query and dpkg-deb), with a
// fixed environment: an argument can never become shell syntax, and the root helper does not
// pass on whatever environment started it.
#pragma once

#include <string>
#include <vector>

namespace iotgw::core::update {

struct ProcessResult {
    int status = -1;     // exit status; 128 + the signal when killed; -1 when it could not start
    std::string output;  // stdout and stderr, at most the last `keep` bytes
};

ProcessResult run_process(const std::vector<std::string>& argv, size_t keep = 4096);

}  // namespace iotgw::core::update
