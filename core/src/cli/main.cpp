// `iotgw`: the gateway command. Subcommands: run, check, plugins, factory, update; --version, --help.
#include "cli.hpp"

#include <iotgw/core/version.hpp>

#include <iotgw/plugin_abi.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string_view>

namespace {

constexpr const char* kUsage =
    "usage: iotgw run --config FILE [--remote-config FILE] [--plugin-dir DIR]... [--log-level LEVEL]\n"
    "       iotgw check --config FILE [--config FILE]... [--plugin-dir DIR]... [--quiet]\n"
    "       iotgw plugins [--plugin-dir DIR]...\n"
    "       iotgw factory claim-csr --config FILE --out FILE.csr [--plugin-dir DIR]...\n"
    "       iotgw factory claim-install --config FILE --cert FILE.pem [--plugin-dir DIR]...\n"
    "       iotgw update verify|keep --package FILE.deb --document JOB.json [--keys DIR]\n"
    "       iotgw update run [--keys DIR] [--allow-downgrade]\n"
    "       iotgw --version | --help\n"
    "\n"
    "  run       start the gateway with FILE; SIGHUP reloads it, SIGTERM/SIGINT stop,\n"
    "            SIGUSR1 logs the metrics\n"
    "  check     validate FILE(s) and the plugins they use without starting anything;\n"
    "            lists every problem with file:line and exits non-zero if there is one\n"
    "  plugins   list the available plugins with their config schema as a sample config\n"
    "  factory   the factory step of a device (docs/factory.md):\n"
    "            claim-csr makes the claim key in the store of the credentials that the\n"
    "            fleet_provisioning instance names in claim_credentials (it never leaves the\n"
    "            device) and writes its CSR, CN = [gateway] thing; a second run prints the same\n"
    "            CSR, never a second key. claim-install checks the issued certificate against\n"
    "            the key and the thing and installs it; installing it again changes nothing\n"
    "\n"
    "  --remote-config FILE  run: where a configuration applied by a `config` job is kept; while\n"
    "            it exists it runs instead of --config, on trial until the job confirms it\n"
    "            (docs/remote-jobs.md)\n"
    "  --plugin-dir DIR   also load plugins from DIR (before the default directories)\n"
    "  --log-level LEVEL  error, warning, notice, info or debug (overrides [gateway] log_level)\n"
    "  --allow-unsafe-plugin-dirs  load plugins even from files or directories that someone other\n"
    "            than root or this user owns or that group or others may write (development trees\n"
    "            only; same as IOTGW_ALLOW_UNSAFE_PLUGIN_DIRS=1)\n"
    "\n"
    "Plugin directories: [gateway] plugin_dirs, --plugin-dir, then $IOTGW_PLUGIN_PATH or the\n"
    "default (" IOTGW_PLUGIN_INSTALL_DIR ").\n";

int usage_error(const std::string& message) {
    std::cerr << "iotgw: " << message << "\n" << kUsage;
    return iotgw::cli::kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace iotgw::cli;
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        auto value = [&](std::string_view opt) -> const char* {
            if (i + 1 >= argc) return nullptr;
            (void)opt;
            return argv[++i];
        };
        if (a == "--version" || a == "-V") {
            std::printf("iotgw %s (plugin ABI %u.%u)\n", iotgw::core::gateway_version(), IOTGW_ABI_MAJOR,
                        IOTGW_ABI_MINOR);
            return kExitOk;
        }
        if (a == "--help" || a == "-h" || a == "help") {
            std::cout << kUsage;
            return kExitOk;
        }
        if (a == "--config" || a == "-c") {
            const char* v = value(a);
            if (v == nullptr) return usage_error("--config needs a file name");
            o.configs.emplace_back(v);
        } else if (a == "--plugin-dir") {
            const char* v = value(a);
            if (v == nullptr) return usage_error("--plugin-dir needs a directory");
            o.plugin_dirs.emplace_back(v);
        } else if (a == "--log-level") {
            const char* v = value(a);
            if (v == nullptr) return usage_error("--log-level needs a level");
            int level = iotgw::core::parse_log_level(v);
            if (level < 0)
                return usage_error(std::string("unknown log level '") + v +
                                   "': use error, warning, notice, info or debug");
            o.log_level = level;
        } else if (a == "--remote-config") {
            const char* v = value(a);
            if (v == nullptr) return usage_error("--remote-config needs a file name");
            o.remote_config = v;
        } else if (a == "--out") {
            const char* v = value(a);
            if (v == nullptr) return usage_error("--out needs a file name");
            o.out = v;
        } else if (a == "--cert") {
            const char* v = value(a);
            if (v == nullptr) return usage_error("--cert needs a file name");
            o.cert = v;
        } else if (a == "--package" || a == "--document" || a == "--keys") {
            const char* v = value(a);
            if (v == nullptr) return usage_error(std::string(a) + " needs a file name");
            (a == "--package" ? o.package : a == "--document" ? o.document : o.keys_dir) = v;
        } else if (a == "--allow-downgrade") {
            o.allow_downgrade = true;
        } else if (a == "--allow-unsafe-plugin-dirs") {
            // The registry reads it (plugin_registry.hpp); as the environment it reaches every
            // registry this process makes, and a reload's too.
            ::setenv("IOTGW_ALLOW_UNSAFE_PLUGIN_DIRS", "1", 1);
        } else if (a == "--quiet" || a == "-q") {
            o.quiet = true;
        } else if (!a.empty() && a[0] == '-') {
            return usage_error("unknown option '" + std::string(a) + "'");
        } else if (o.command.empty()) {
            o.command = a;
        } else if (o.command == "factory" && o.factory_step.empty()) {
            o.factory_step = a;
        } else if (o.command == "update" && o.update_step.empty()) {
            o.update_step = a;
        } else {
            return usage_error("unexpected argument '" + std::string(a) + "'");
        }
    }
    if (o.command.empty()) return usage_error("no command given");
    if (o.command != "factory" && (!o.out.empty() || !o.cert.empty()))
        return usage_error("--out and --cert are options of `iotgw factory` only");
    if (o.command != "update" &&
        (!o.package.empty() || !o.document.empty() || !o.keys_dir.empty() || o.allow_downgrade))
        return usage_error(
            "--package, --document, --keys and --allow-downgrade are options of `iotgw update` only");
    if (o.command != "run" && !o.remote_config.empty())
        return usage_error("--remote-config is an option of `iotgw run` only");
    if (o.command == "run") {
        if (o.configs.size() != 1) return usage_error("run needs exactly one --config FILE");
        return run_command(o);
    }
    if (o.command == "check") {
        if (o.configs.empty()) return usage_error("check needs --config FILE");
        return check_command(o);
    }
    if (o.command == "plugins") return plugins_command(o);
    if (o.command == "factory") {
        if (o.factory_step.empty()) return usage_error("factory needs a step: claim-csr or claim-install");
        if (o.configs.size() != 1) return usage_error("factory needs exactly one --config FILE");
        if (o.factory_step == "claim-csr" && o.out.empty())
            return usage_error("factory claim-csr needs --out FILE.csr");
        if (o.factory_step == "claim-install" && o.cert.empty())
            return usage_error("factory claim-install needs --cert FILE.pem");
        return factory_command(o);
    }
    if (o.command == "update") {
        if (o.update_step != "verify" && o.update_step != "keep" && o.update_step != "run")
            return usage_error("update needs a step: verify, keep or run");
        if (o.allow_downgrade && o.update_step != "run")
            return usage_error("--allow-downgrade is an option of `iotgw update run` only");
        if (o.update_step != "run" && (o.package.empty() || o.document.empty()))
            return usage_error("update " + o.update_step +
                               " needs --package FILE.deb and --document JOB.json");
        return update_command(o);
    }
    return usage_error("unknown command '" + o.command + "'");
}
