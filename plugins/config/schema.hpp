// Config schema of the `config` job handler.
#pragma once

#include <iotgw/sdk.hpp>

namespace iotgw::plugins::config {

using iotgw::sdk::Field;

inline constexpr int64_t kMinTrialMs = 10'000;

inline constexpr iotgw_config_field kFields[] = {
    Field::string("connection",
                  "The connection whose link must be up again under the new configuration before it is kept.")
        .with_default("\"cloud\""),
    Field::duration(
        "trial",
        "How long a new configuration has to bring the connection up and report before the gateway "
        "rolls it back to the previous one.")
        .with_default("\"2m\"")
        .at_least(kMinTrialMs)
        .at_most(3'600'000),
    Field::integer(
        "max_toml_bytes",
        "Larger configurations are rejected before they are checked (the job document holds at most "
        "32 KB, the TOML text escaped in it).")
        .with_default("24576")
        .at_least(64)
        .at_most(32768),
    Field::path("download_dir",
                "Where a configuration named by URL is downloaded before it is checked (removed after).")
        .with_default("\"/var/lib/iotgw/jobs\""),
    Field::path("ca",
                "PEM trust anchors for the HTTPS server of a configuration named by URL; unset: the "
                "system trust store (which verifies S3)."),
    Field::duration("download_timeout",
                    "The longest wait for each step of a download (connect, TLS handshake, each read).")
        .with_default("\"30s\"")
        .at_least(1000)
        .at_most(300'000),
};

}  // namespace iotgw::plugins::config
