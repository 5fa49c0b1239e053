// Config schema of the `jobs` processor.
#pragma once

#include <iotgw/sdk.hpp>

namespace iotgw::plugins::jobs {

using iotgw::sdk::Field;

inline constexpr iotgw_config_field kFields[] = {
    Field::refs("handlers", IOTGW_KIND_JOB_HANDLER,
                "The job handler instances ([job_handlers.NAME]) that carry out jobs; each job document's "
                "\"operation\" picks the one that names it.")
        .required(),
    Field::string("connection",
                  "The connection to AWS IoT Core whose link events start the work: the next pending job is "
                  "asked for at every connect.")
        .with_default("\"cloud\""),
    Field::path("journal", "Where the execution in progress is kept across restarts (written atomically).")
        .with_default("\"/var/lib/iotgw/jobs/current.json\""),
    Field::integer("max_document_bytes",
                   "Larger job documents are rejected before any handler sees them (AWS allows 32 KB).")
        .with_default("32768")
        .at_least(64)
        .at_most(32768),
    Field::duration("retry", "Wait before asking again after a request went unanswered or was throttled.")
        .with_default("\"30s\"")
        .at_least(1000),
};

}  // namespace iotgw::plugins::jobs
