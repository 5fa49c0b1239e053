// The seam between the AMR command logic (amr_call) and the machine that actually moves. The
// simulated AMR implements it in plugins/amr_call; a real robot's plugin implements it over its
// vendor API and reuses the same command rules (call_rules.hpp) and status contract.
//
// Header-only, standard C++ only (no JSON, no Boost), so a driver can be built by anyone with
// the installed SDK.
//
// Threading: every member is called on the gateway's event loop, and `done` must be invoked on
// the event loop too. A driver with its own threads (serial I/O, a vendor SDK's callbacks)
// hands its completion over with Host::post, never by calling `done` from its thread. `done` is
// invoked exactly once per start_move, and preferably not from inside start_move itself (the
// caller copes, but the status of the move then looks instantaneous).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

// Not "namespace iotgw::amr": GCC rejects attributes on a nested namespace definition.
namespace iotgw {
namespace [[gnu::visibility("hidden")]] amr {

// One accepted call command, as the rules validated it.
struct MoveRequest {
    std::string command_id;             // the caller's id, 1..64 chars of [A-Za-z0-9_.:-]
    std::optional<std::string> target;  // where to go, when the caller named a place
};

// How a move ended. `reason` says why it failed (empty when ok); it is shown to the operator.
struct MoveOutcome {
    bool ok = true;
    std::string reason;
};

class RobotDriver {
public:
    using Done = std::function<void(const MoveOutcome&)>;

    RobotDriver() = default;
    RobotDriver(const RobotDriver&) = delete;
    RobotDriver& operator=(const RobotDriver&) = delete;
    virtual ~RobotDriver() = default;

    // Short name for logs ("simulated", "acme-agv").
    virtual std::string_view name() const = 0;

    // Begin moving. The caller never starts a second move before `done` of the first ran (a call
    // while moving is refused as "busy" by the rules), so a driver needs no queue. Throw
    // (e.g. iotgw::sdk::Error) if the move cannot even begin: the command is then reported as
    // failed and the AMR stays idle.
    virtual void start_move(const MoveRequest& request, Done done) = 0;

    // The gateway is stopping: halt safely, release the hardware. `done` of a move in progress
    // need not be called any more.
    virtual void stop() noexcept {}
};

}  // namespace amr
}  // namespace iotgw
