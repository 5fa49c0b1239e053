// `iotgw update`: the gateway update's command line.
// - verify --package FILE --document FILE [--keys DIR]: the check a gateway makes before it
//   installs a package a job names, run by hand. An operator runs it on the package and the job
//   document before making the job (with the site's public keys), and so learns from a sentence,
//   not from a failed job on a robot, that the signature or the digest is wrong.
// - run [--allow-downgrade]: the root helper, started by iotgw-update.service
//   (core/include/iotgw/core/update_installer.hpp); older versions only with the flag.
// - keep --package FILE --document FILE: commissioning keeps the installed package to go back to.
#include "cli.hpp"

#include <iotgw/core/package_document.hpp>
#include <iotgw/core/package_signature.hpp>
#include <iotgw/core/update_installer.hpp>

#include <ctime>

#include <fstream>
#include <iostream>
#include <sstream>

namespace iotgw::cli {

namespace {

namespace upd = core::update;

upd::InstallerPaths installer_paths(const Options& o) {
    upd::InstallerPaths p;
    if (!o.keys_dir.empty()) p.keys_dir = o.keys_dir.string();
    return p;
}

int run_installer(const Options& o) {
    upd::InstallerPolicy policy;
    policy.allow_downgrade = o.allow_downgrade;
    upd::Installer installer(installer_paths(o), policy);
    const auto now = static_cast<int64_t>(std::time(nullptr));
    try {
        for (const auto& line : installer.run(now)) std::cout << line << "\n";
        upd::InstallRecord r;
        if (installer.read_record(r))
            if (auto warning = upd::arm_deadline_timer(r, now, policy); !warning.empty())
                std::cerr << "iotgw: warning: " << warning << "\n";
        return kExitOk;
    } catch (const std::exception& e) {
        std::cerr << "iotgw: " << e.what() << "\n";
        return kExitFailure;
    }
}

std::string read_document(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read the job document " + path.string());
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

int update_command(const Options& o) {
    if (o.update_step == "run") return run_installer(o);
    if (o.update_step == "keep") {
        try {
            upd::Installer installer(installer_paths(o));
            std::cout << installer.keep(o.package.string(), read_document(o.document)) << "\n";
            return kExitOk;
        } catch (const std::exception& e) {
            std::cerr << "iotgw: " << e.what() << "\n";
            return kExitFailure;
        }
    }
    std::ifstream in(o.document);
    if (!in) {
        std::cerr << "iotgw: cannot read the job document " << o.document.string() << "\n";
        return kExitFailure;
    }
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = upd::parse_package_document(text.str());
    if (const auto* problem = std::get_if<upd::PackageDocumentProblem>(&parsed)) {
        std::cerr << "iotgw: " << o.document.string() << ": " << problem->message << "\n";
        return kExitFailure;
    }
    const auto& doc = std::get<upd::PackageDocument>(parsed);
    const std::string keys = o.keys_dir.empty() ? std::string(kUpdateKeysDir) : o.keys_dir.string();
    try {
        const auto loaded = upd::load_trusted_keys(keys);
        for (const auto& p : loaded.problems) std::cerr << "iotgw: warning: " << p << "\n";
        const std::string key = upd::verify_package(o.package.string(), doc.claim, keys);
        std::cout << o.package.string() << ": verified: " << doc.claim.size << " bytes, SHA-256 "
                  << doc.claim.sha256 << ", signed by " << key << "; version " << doc.version << "\n";
        return kExitOk;
    } catch (const upd::VerifyError& e) {
        std::cerr << "iotgw: " << e.what() << "\n";
        return kExitFailure;
    }
}

}  // namespace iotgw::cli
