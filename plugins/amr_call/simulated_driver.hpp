// The simulated AMR: a move takes `move_time` and always succeeds. It stands in for a real robot
// in demos, tests and benchmarks, behind the same RobotDriver seam a real one would use.
#pragma once

#include <iotgw/amr/robot_driver.hpp>
#include <iotgw/sdk.hpp>

#include <chrono>
#include <string_view>

namespace iotgw::plugins::amr_call {

class SimulatedDriver final : public amr::RobotDriver {
public:
    SimulatedDriver(const sdk::Host& host, std::chrono::milliseconds move_time);

    std::string_view name() const override { return "simulated"; }
    void start_move(const amr::MoveRequest& request, Done done) override;
    void stop() noexcept override;

private:
    void arrived();

    std::chrono::milliseconds move_time_;
    sdk::Timer timer_;
    Done done_;
};

}  // namespace iotgw::plugins::amr_call
