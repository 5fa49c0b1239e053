#include "gateway_process.hpp"

#include <fstream>
#include <stdexcept>

namespace iotgw::test {

std::unique_ptr<ChildProcess> start_gateway_process(const std::string& toml,
                                                    const std::filesystem::path& config,
                                                    const std::filesystem::path& log,
                                                    const std::vector<std::string>& extra_args) {
    std::ofstream out(config);
    out << toml;
    out.close();
    if (!out) throw std::runtime_error("cannot write the gateway's config " + config.string());
    std::vector<std::string> args{IOTGW_BINARY,    "run",          "--config",
                                  config.string(), "--plugin-dir", IOTGW_BUILD_PLUGIN_DIR};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    return std::make_unique<ChildProcess>(args, log);
}

std::string jobs_ready_line(const std::string& thing) {
    return "subscribed to '$aws/things/" + thing + "/jobs/+/get/+'";
}

}  // namespace iotgw::test
