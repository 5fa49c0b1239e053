// Config schema of the `amr_call` processor.
#pragma once

#include <iotgw/sdk.hpp>

namespace iotgw::plugins::amr_call {

using iotgw::sdk::Field;

inline constexpr iotgw_config_field kFields[] = {
    Field::duration("move_time",
                    "How long the simulated AMR moves after an accepted call (0 for benchmarks).")
        .with_default("\"5s\"")
        .at_least(0),
    Field::duration("command_ttl",
                    "Calls whose ts is older than this are refused as stale: a call queued while the AMR was "
                    "offline must not start a move hours later.")
        .with_default("\"30s\"")
        .at_least(0),
    Field::duration("max_clock_skew", "Calls whose ts is further than this in the future are refused.")
        .with_default("\"5s\"")
        .at_least(0),
    Field::integer("dedupe_ids",
                   "Command ids remembered to answer redeliveries. An accepted id is kept until its command would "
                   "be stale; when all are such ids, new calls are refused as dedupe_full.")
        .with_default("1000")
        .at_least(1)
        .at_most(100000),
    Field::string("state_dir",
                  "Directory where accepted call ids are kept (accepted_calls.json), written before each move, so "
                  "a call redelivered after a restart within command_ttl does not move again. \"\": memory only.")
        .with_default("\"\""),
    Field::integer("max_payload", "Larger command payloads are refused unparsed (bytes).")
        .with_default("4096")
        .at_least(64)
        .at_most(1048576),
    Field::string("status_topic", "Topic of the retained status messages (state idle/moving).")
        .with_default("\"amr/${thing}/status\""),
    Field::string("result_topic", "Topic of the result message every command gets.")
        .with_default("\"amr/${thing}/cmd/result\""),
    Field::string("driver", "What moves: \"simulated\" (idle -> moving -> idle after move_time).")
        .with_default("\"simulated\"")
        .one_of("simulated"),
};

}  // namespace iotgw::plugins::amr_call
