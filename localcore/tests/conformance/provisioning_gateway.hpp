// What the end-to-end tests of provisioning share, whichever credentials provider holds the
// production key (file, tpm, pkcs11): the gateway config, a production credential awaiting
// provisioning, the thing's own localcore claim certificate, an `mqtt` connection with short reconnect
// delays, fleet_provisioning with short timeouts, and 1 s heartbeats; and reading what it left on disk.
#pragma once

#include "localcore_fixture.hpp"

#include <iotgw/plugins/common/certificate_info.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace localcore::conformance {

// The scratch paths of a provisioning gateway in `lc`'s folder, made: the production credential's
// folder, and a stand-in for systemd-timesyncd's flag (present, so the clock counts as synchronised
// and fleet_provisioning judges expiry). Returns {prod_dir, sync_flag}.
inline std::pair<fs::path, fs::path> make_gateway_scratch(const LocalCore& lc) {
    const fs::path prod_dir = lc.scratch() / "prod";
    const fs::path sync_flag = lc.scratch() / "synchronized";
    fs::create_directories(prod_dir);
    std::ofstream(sync_flag).put('\n');
    return {prod_dir, sync_flag};
}

// The `[credentials.prod]` table body of a `file` credential in `prod_dir` awaiting provisioning.
inline std::string file_prod_credentials(const LocalCore& lc, const fs::path& prod_dir) {
    return "type = \"file\"\ncert = \"" + (prod_dir / "cert.pem").string() + "\"\nkey = \"" +
           (prod_dir / "key.pem").string() + "\"\nca = \"" + lc.ca().string() +
           "\"\nawait_provisioning = true\n";
}

// The connection's `client` line: the MQTT client library named by IOTGW_TEST_MQTT_CLIENT
// ("paho-async" or "paho-sync"), so that the provisioning and hardware-key suites run against
// either; empty (the plugin's default) when it is not set.
inline std::string mqtt_client_line() {
    const char* v = std::getenv("IOTGW_TEST_MQTT_CLIENT");
    return v != nullptr && *v != '\0' ? "client = \"" + std::string(v) + "\"" : std::string();
}

// `clock_sync_file`: a file standing in for systemd-timesyncd's flag (created by the caller so
// the tests do not depend on the machine's NTP state); `extra` is added to the source's table;
// `prod_credentials` is the body of `[credentials.prod]` (default: file_prod_credentials). The claim
// credential is `thing`'s own claim certificate (LocalCore::claim_for).
inline std::string fleet_config(LocalCore& lc, const std::string& thing, const fs::path& prod_dir,
                                const fs::path& clock_sync_file, const std::string& extra = "",
                                const std::string& prod_credentials = "") {
    const auto q = [](const std::string& s) { return "\"" + s + "\""; };
    const std::string port = std::to_string(lc.port());
    const Identity& claim = lc.claim_for(thing);
    const std::vector<std::string> lines = {
        "[gateway]",
        "thing = " + q(thing),
        "[credentials.prod]",
        prod_credentials.empty() ? file_prod_credentials(lc, prod_dir) : prod_credentials,
        "[credentials.claim]",
        "type = \"file\"",
        "cert = " + q(claim.cert.string()),
        "key = " + q(claim.key.string()),
        "ca = " + q(lc.ca().string()),
        "[connections.cloud]",
        "type = \"mqtt\"",
        "endpoint = \"localhost\"",
        "port = " + port,
        "credentials = \"prod\"",
        "reconnect_min = \"100ms\"",
        "reconnect_max = \"1s\"",
        "connect_timeout = \"5s\"",
        mqtt_client_line(),
        "[sources.provisioning]",
        "type = \"fleet_provisioning\"",
        "credentials = \"prod\"",
        "claim_credentials = \"claim\"",
        "connection = \"cloud\"",
        "endpoint = \"localhost\"",
        "port = " + port,
        "jitter = \"0s\"",
        "retry_min = \"500ms\"",
        "retry_max = \"4s\"",
        "request_timeout = \"5s\"",
        "prove_timeout = \"10s\"",
        "clock_sync_file = " + q(clock_sync_file.string()),
        extra,
        "[sources.hb]",
        "type = \"heartbeat\"",
        "period = \"1s\"",
        "[[pipelines]]",
        "name = \"heartbeat\"",
        "from = \"hb\"",
        "to = [\"cloud:amr/${thing}/heartbeat\"]",
        "[[pipelines]]",
        "name = \"rotation-report\"",
        "from = \"provisioning\"",
        "to = [\"cloud:amr/${thing}/certificate/rotated\"]",
        "[[pipelines]]",
        "name = \"rotation-reply\"",
        "from = \"cloud:amr/${thing}/certificate/rotated/+\"",
        "to = [\"provisioning\"]",
    };
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
}

inline std::string read_text_file(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The AWS certificate id (SHA-256 of the DER) of the first certificate in `pem`; empty when none.
inline std::string certificate_id_of(const fs::path& pem) {
    auto info = iotgw::plugins::common::read_certificate_info(pem.string());
    return info ? info->id : "";
}

// A policy for the tests' observers: clients "watch-*" may subscribe to and receive anything
// under amr/ (the heartbeats, statuses and reports the tests wait for).
inline constexpr const char* kWatchPolicy = R"({"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": ["iot:Connect"], "Resource": ["arn:aws:iot:*:*:client/watch-*"]},
  {"Effect": "Allow", "Action": ["iot:Subscribe"], "Resource": ["arn:aws:iot:*:*:topicfilter/amr/*"]},
  {"Effect": "Allow", "Action": ["iot:Receive"], "Resource": ["arn:aws:iot:*:*:topic/amr/*"]}]})";

// `s` without leading and trailing whitespace: the CLI's outputs (ids, paths) end with a newline.
inline std::string trimmed(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    const auto e = s.find_last_not_of(" \t\r\n");
    return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// Issues a certificate for `thing` from `lc` (`lifetime` as `localcore issue-cert --lifetime`
// takes it) and installs it as the production pair in `prod_dir`, replacing one there; returns
// the certificate's id.
inline std::string install_production_cert(LocalCore& lc, const fs::path& prod_dir, const std::string& thing,
                                           const std::string& lifetime) {
    const fs::path prefix = lc.fresh_path("prod");
    const std::string id =
        trimmed(lc.cli({"issue-cert", "--thing", thing, "--out", prefix.string(), "--lifetime", lifetime}));
    fs::copy_file(fs::path(prefix) += ".pem", prod_dir / "cert.pem", fs::copy_options::overwrite_existing);
    fs::copy_file(fs::path(prefix) += ".key", prod_dir / "key.pem", fs::copy_options::overwrite_existing);
    fs::permissions(prod_dir / "key.pem", fs::perms::owner_read | fs::perms::owner_write);
    return id;
}

// The names of the files in `dir`, sorted: what a rotation or a crash left in the credential's
// folder.
inline std::vector<std::string> file_names_in(const fs::path& dir) {
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path().filename().string());
    std::sort(files.begin(), files.end());
    return files;
}

}  // namespace localcore::conformance
