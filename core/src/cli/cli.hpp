// Shared pieces of the `iotgw` subcommands.
#pragma once

#include <iotgw/core/config_loader.hpp>
#include <iotgw/core/diagnostics.hpp>
#include <iotgw/core/log.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace iotgw::cli {

// Exit codes: 78 is sysexits' EX_CONFIG, which the systemd unit lists in
// RestartPreventExitStatus so a broken config does not restart-loop.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitConfig = 78;

// Where a device keeps the public keys whose signatures it takes on a gateway update.
inline constexpr const char* kUpdateKeysDir = "/etc/iotgw/update-keys";

struct Options {
    std::string command;
    std::vector<std::filesystem::path> configs;
    std::vector<std::filesystem::path> plugin_dirs;  // --plugin-dir, searched before the defaults
    std::optional<int> log_level;                    // --log-level
    bool quiet = false;                              // check: only errors and warnings
    std::string factory_step;                        // factory: claim-csr or claim-install
    std::filesystem::path out;                       // factory claim-csr: where the CSR goes
    std::filesystem::path cert;                      // factory claim-install: the issued certificate
    std::filesystem::path remote_config;             // run: where a `config` job's configuration goes
    std::string update_step;                         // update: verify
    std::filesystem::path package;                   // update verify: the .deb
    std::filesystem::path document;                  // update verify: the package job's document
    std::filesystem::path keys_dir;  // update verify: the trusted keys (default kUpdateKeysDir)
    bool allow_downgrade = false;    // update run: install a version older than the installed one
};

core::LoadOptions load_options(const Options& o);
// Everything `run` does before the first instance starts: load `file`, then let the plugins create
// their instances (a dry run: they check what a schema cannot say). Every problem lands in `diags`
// with file:line; plugin log lines below `log_level` are dropped. No config when loading failed.
std::optional<core::GatewayConfig> load_and_check(const std::filesystem::path& file, const Options& o,
                                                  core::PluginRegistry& registry, core::Diagnostics& diags,
                                                  int log_level);
// Print diagnostics to stderr, one per line, errors and warnings alike.
void print_diagnostics(const core::Diagnostics& d);

int run_command(const Options& o);
int check_command(const Options& o);
int plugins_command(const Options& o);
int factory_command(const Options& o);
int update_command(const Options& o);

}  // namespace iotgw::cli
