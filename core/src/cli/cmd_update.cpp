// `iotgw update verify --package FILE --document FILE [--keys DIR]`: the check a gateway makes
// before it installs a package a job names, run by hand. An operator runs it on the package and
// the job document before making the job (with the site's public keys), and so learns from a
// sentence, not from a failed job on a robot, that the signature or the digest is wrong.
#include "cli.hpp"

#include <iotgw/core/package_document.hpp>
#include <iotgw/core/package_signature.hpp>

#include <fstream>
#include <iostream>
#include <sstream>

namespace iotgw::cli {

int update_command(const Options& o) {
    namespace upd = core::update;
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
