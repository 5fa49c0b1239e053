// Config schema of the `logs` job handler.
#pragma once

#include <iotgw/sdk.hpp>

namespace iotgw::plugins::logs {

using iotgw::sdk::Field;

inline constexpr iotgw_config_field kFields[] = {
    Field::path("journalctl", "The journal reader the handler runs.").with_default("\"/usr/bin/journalctl\""),
    Field::string("unit", "The systemd unit whose journal is uploaded.").with_default("\"iotgw.service\""),
    Field::integer("max_upload_bytes",
                   "The most that is uploaded: the newest lines are kept, the older ones left out (a "
                   "document's max_bytes may lower it, never raise it).")
        .with_default("8388608")
        .at_least(4096)
        .at_most(67108864),
    Field::path("ca",
                "PEM trust anchors for the HTTPS server the journal goes to; unset: the system trust "
                "store (which verifies S3)."),
    Field::duration("read_timeout", "The longest journalctl may take.")
        .with_default("\"60s\"")
        .at_least(1000)
        .at_most(600'000),
    Field::duration("upload_timeout",
                    "The longest wait for the connect, the TLS handshake and, while the body is "
                    "sent and the answer awaited, for the server to take a byte or answer.")
        .with_default("\"30s\"")
        .at_least(1000)
        .at_most(300'000),
    Field::duration("step_timeout",
                    "The job's step timeout: the longest reading and uploading may take before AWS ends "
                    "the execution TIMED_OUT.")
        .with_default("\"15m\"")
        .at_least(60'000)
        .at_most(86'400'000),
};

}  // namespace iotgw::plugins::logs
