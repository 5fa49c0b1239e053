// Config schema of the `shadow` processor.
#pragma once

#include <iotgw/sdk.hpp>

namespace iotgw::plugins::shadow {

using iotgw::sdk::Field;

inline constexpr iotgw_config_field kFields[] = {
    Field::ref("connection", IOTGW_KIND_CONNECTION,
               "The connection to the shadow service (e.g. \"cloud\"): after each of its (re)connects the "
               "shadow is fetched again (GET) and resynchronised.")
        .required(),
    Field::string("shadow_name",
                  "Named shadow to keep in sync ([$a-zA-Z0-9:_-], 1-64 chars); \"\" for the classic "
                  "(unnamed) shadow. The replies pipeline's filter must name the same shadow.")
        .with_default("\"robot\""),
    Field::string("status_topic", "The AMR's status topic: each new state there is reported to the shadow.")
        .with_default("\"amr/${thing}/status\""),
    Field::string("result_topic", "The AMR's result topic: the outcome of a call made for desired state.")
        .with_default("\"amr/${thing}/cmd/result\""),
    Field::string("call_topic",
                  "Where a call for desired state is published; it must be the call pipeline's input, so "
                  "the call passes the same rules as any other.")
        .with_default("\"amr/${thing}/cmd/call\""),
    Field::boolean("desired",
                   "Act on desired state (desired.state = \"moving\" calls the AMR); false: only report.")
        .with_default("true"),
    Field::duration("request_timeout",
                    "A GET or update without a reply, or a call without a result, within this is a failure "
                    "(resync with backoff).")
        .with_default("\"10s\"")
        .at_least(100),
    Field::duration("retry_min",
                    "First delay after a failed request (409, rejection, timeout); doubles per failure.")
        .with_default("\"200ms\"")
        .at_least(10),
    Field::duration("retry_max", "Upper bound of the retry delay.").with_default("\"30s\"").at_least(10),
    Field::integer("max_state_bytes",
                   "Largest desired + reported document the plugin builds (AWS IoT's limit is 8192 bytes).")
        .with_default("8192")
        .at_least(256)
        .at_most(8192),
};

}  // namespace iotgw::plugins::shadow
