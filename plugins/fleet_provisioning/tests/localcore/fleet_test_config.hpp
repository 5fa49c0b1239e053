// The gateway config of the fleet_provisioning end-to-end tests: a `file` production credential
// awaiting provisioning, the localcore claim certificate, an `mqtt` connection with short
// reconnect delays, fleet_provisioning with short timeouts, and 1 s heartbeats.
#pragma once

#include "localcore_fixture.hpp"

#include <string>
#include <vector>

namespace localcore::conformance {

// `clock_sync_file`: a file standing in for systemd-timesyncd's flag (created by the caller so
// the tests do not depend on the machine's NTP state); `extra` is added to the source's table.
inline std::string fleet_config(const LocalCore& lc, const std::string& thing, const fs::path& prod_dir,
                                const fs::path& clock_sync_file, const std::string& extra = "") {
    const auto q = [](const std::string& s) { return "\"" + s + "\""; };
    const std::string port = std::to_string(lc.port());
    const std::vector<std::string> lines = {
        "[gateway]",
        "thing = " + q(thing),
        "[credentials.prod]",
        "type = \"file\"",
        "cert = " + q((prod_dir / "cert.pem").string()),
        "key = " + q((prod_dir / "key.pem").string()),
        "ca = " + q(lc.ca().string()),
        "await_provisioning = true",
        "[credentials.claim]",
        "type = \"file\"",
        "cert = " + q(lc.claim.cert.string()),
        "key = " + q(lc.claim.key.string()),
        "ca = " + q(lc.ca().string()),
        "[connections.cloud]",
        "type = \"mqtt\"",
        "endpoint = \"localhost\"",
        "port = " + port,
        "credentials = \"prod\"",
        "reconnect_min = \"100ms\"",
        "reconnect_max = \"1s\"",
        "connect_timeout = \"5s\"",
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

}  // namespace localcore::conformance
