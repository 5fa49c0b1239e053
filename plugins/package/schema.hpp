// Config schema of the `package` job handler.
#pragma once

#include <iotgw/sdk.hpp>

namespace iotgw::plugins::package {

using iotgw::sdk::Field;

inline constexpr iotgw_config_field kFields[] = {
    Field::string("connection",
                  "The connection the new version must bring up before the update is confirmed.")
        .with_default("\"cloud\""),
    Field::path("request_dir",
                "Where the verified package and the request for the root helper are left (the "
                "directory iotgw-update.path watches).")
        .with_default("\"/var/lib/iotgw/update\""),
    Field::path("helper_dir",
                "The root helper's directory, whose state.json says how the install went (read only).")
        .with_default("\"/var/lib/iotgw-update\""),
    Field::path("keys_dir",
                "The site's trusted update keys (PEM P-256 public keys): a package is downloaded only "
                "when one is trusted, and handed on only with a signature by one of them.")
        .with_default("\"/etc/iotgw/update-keys\""),
    Field::integer("max_package_bytes", "Larger packages are refused before anything is downloaded.")
        .with_default("134217728")
        .at_least(1024)
        .at_most(536870912),
    Field::boolean("allow_downgrade",
                   "Download a version older than the running one. Off: such a job fails at once "
                   "(downgrade_refused). The root helper decides again with its own setting "
                   "(iotgw update run --allow-downgrade), which this cannot override.")
        .with_default("false"),
    Field::path("ca",
                "PEM trust anchors for the HTTPS server of the package; unset: the system trust store "
                "(which verifies S3)."),
    Field::duration("download_timeout",
                    "The longest wait for each step of the download (connect, TLS handshake, each read).")
        .with_default("\"30s\"")
        .at_least(1000)
        .at_most(300'000),
    Field::duration("install_timeout",
                    "How long the root helper may take to install the package and report it (its unit "
                    "stops dpkg after 15 minutes) before the job fails.")
        .with_default("\"20m\"")
        .at_least(10'000)
        .at_most(3'600'000),
    Field::duration("step_timeout",
                    "The job's step timeout: the longest the download, or the install with the new "
                    "version's confirmation, may take before AWS ends the execution TIMED_OUT.")
        .with_default("\"1h\"")
        .at_least(300'000)
        .at_most(86'400'000),
};

}  // namespace iotgw::plugins::package
