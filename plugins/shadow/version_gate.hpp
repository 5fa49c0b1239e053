// "Only a newer version is ever applied" (the seed's version rule), as one pure decision so the
// rule can be tested on its own.
//
// A message carrying the whole document (get/accepted, update/documents) may jump ahead: it
// replaces everything. A partial one (an update/accepted echo, a delta) describes one step and
// is only applied when it is exactly the next version; anything further ahead means a step was
// missed, and only a GET can tell what it was.
#pragma once

#include <cstdint>
#include <optional>

namespace iotgw::plugins::shadow {

enum class Verdict {
    apply,      // newer, and nothing is missing
    not_newer,  // already applied (a second carrier of the same version) or stale: ignore
    gap,        // newer, but a version in between was never seen: resync with a GET
};

// `applied`: the version of the document held now; nullopt when none is held (never synced, or
// the shadow was deleted).
inline Verdict judge_version(std::optional<int64_t> applied, int64_t incoming, bool whole_document) {
    if (!applied) return whole_document ? Verdict::apply : Verdict::gap;
    if (incoming <= *applied) return Verdict::not_newer;
    if (whole_document || incoming == *applied + 1) return Verdict::apply;
    return Verdict::gap;
}

}  // namespace iotgw::plugins::shadow
