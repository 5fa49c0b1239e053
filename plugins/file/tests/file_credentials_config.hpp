// The config the `file` credentials tests start: credentials "device" of type file reading `cert`
// and `key` (and the credentials fields in `extra`), used by a probe source of type `probe_type`
// (a builtin each test file registers) in a pipeline to a fixture sink.
#pragma once

#include <filesystem>
#include <string>

namespace iotgw::test {

inline std::string file_credentials_config(const std::string& probe_type, const std::filesystem::path& cert,
                                           const std::filesystem::path& key, const std::string& extra) {
    return R"(
[gateway]
thing = "AMR-001"
[credentials.device]
type = "file"
cert = ")" +
           cert.string() +
           R"("
key = ")" + key.string() +
           "\"\n" + extra + R"(
[sources.probe]
type = ")" +
           probe_type +
           R"("
[sinks.out]
type = "fixture_sink"
[[pipelines]]
name = "p"
from = "probe"
to = ["out"]
)";
}

}  // namespace iotgw::test
