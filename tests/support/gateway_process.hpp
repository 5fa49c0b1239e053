// The real `iotgw` binary as the end-to-end tests run it against a broker or localcore: a config
// written to a file, the build's plugins, the output captured in a log file.
#pragma once

#include "child_process.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace iotgw::test {

// Writes `toml` to `config`, then runs `iotgw run --config <config> --plugin-dir <the build's
// plugins> [extra_args...]`, its output in `log`.
std::unique_ptr<ChildProcess> start_gateway_process(const std::string& toml,
                                                    const std::filesystem::path& config,
                                                    const std::filesystem::path& log,
                                                    const std::vector<std::string>& extra_args = {});

// The line the `jobs` processor logs once it listens for `thing`'s jobs: a job created after it
// reaches the gateway.
std::string jobs_ready_line(const std::string& thing = "AMR-001");

}  // namespace iotgw::test
