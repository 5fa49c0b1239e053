// What the root helper's record (state.json, written by `iotgw update run`) means for the
// `package` job waiting on it. Kept apart from the handler, without the host, so every state
// the helper can leave is tested on its own.
#pragma once

#include <iotgw/core/update_installer.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace iotgw::plugins::package {

enum class Next {
    wait,     // the helper has not taken the request, is installing, or waits for the restart
    confirm,  // this process is the version the job installed: confirm once connected
    succeed,
    fail,
};

struct Verdict {
    Next next = Next::wait;
    std::string reason;   // the job's failure reason code, for Next::fail
    std::string message;  // a sentence for the operator
};

// `record` is the helper's record (none yet: nullopt); `running_version` is this gateway's own.
Verdict judge(const std::optional<core::update::InstallRecord>& record, const std::string& job,
              const std::string& running_version);

// The free space the download needs before it starts, in bytes: the package is downloaded,
// copied once more by the helper, unpacked by dpkg (a gateway unpacks to about twice its .deb)
// and kept as the rollback target, plus a margin so an update never fills the disk the
// gateway's own state lives on.
uint64_t space_needed(uint64_t package_bytes);

}  // namespace iotgw::plugins::package
