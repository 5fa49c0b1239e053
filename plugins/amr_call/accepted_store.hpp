// The accepted call ids kept across restarts: "<state_dir>/accepted_calls.json",
// {"accepted":[{"id":"c-1","expires_ms":1700000030000},...]}, rewritten whole and atomically
// (plugins/common durable_file) every time a call is accepted, BEFORE its move begins. A gateway
// that restarts within command_ttl then still answers a QoS 1 redelivery as a duplicate.
//
// Write before act: a crash between the write and the move leaves an id that never moved, and its
// redelivery is answered "duplicate (accepted)" with no move: the call is lost, which the caller
// sees (no "moving" status) and retries with a new id. The other order could move the robot twice,
// which nobody can undo.
#pragma once

#include <iotgw/amr/call_rules.hpp>

#include <string>
#include <vector>

namespace iotgw::plugins::amr_call {

class AcceptedStore {
public:
    // `state_dir` "" keeps nothing on disk.
    explicit AcceptedStore(std::string state_dir);

    bool enabled() const noexcept { return !dir_.empty(); }
    const std::string& path() const noexcept { return path_; }

    // What a previous run left; none when there is no file. A file that is not ours is reported
    // through `problem` (path and what is wrong) and read as none.
    std::vector<amr::AcceptedId> load(std::string& problem) const;
    // Replaces the file with `ids`, creating state_dir if needed; throws sdk::Error with the path
    // and the system's reason.
    void save(const std::vector<amr::AcceptedId>& ids) const;

private:
    std::string dir_;
    std::string path_;
};

}  // namespace iotgw::plugins::amr_call
