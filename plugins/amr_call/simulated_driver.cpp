#include "simulated_driver.hpp"

#include <utility>

namespace iotgw::plugins::amr_call {

SimulatedDriver::SimulatedDriver(const sdk::Host& host, std::chrono::milliseconds move_time)
    : move_time_(move_time), timer_(host.timer([this] { arrived(); })) {}

void SimulatedDriver::start_move(const amr::MoveRequest& request, Done done) {
    if (done_)
        throw sdk::Error("simulated AMR: move '" + request.command_id + "' started while still moving");
    done_ = std::move(done);
    // Even a zero move_time completes from the timer, never inside start_move: "moving" is
    // always reported before "idle".
    timer_.arm_in(move_time_);
}

void SimulatedDriver::stop() noexcept {
    timer_.cancel();
    done_ = nullptr;
}

void SimulatedDriver::arrived() {
    // Cleared before the call: the callback may start the next move.
    Done done = std::exchange(done_, nullptr);
    if (done) done(amr::MoveOutcome{true, ""});
}

}  // namespace iotgw::plugins::amr_call
