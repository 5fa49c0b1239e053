// How long the connection waits before a connect attempt (docs/scaling.md, "Reconnect storms").
//
// - The first attempt after a lost connection is drawn from [1 s, reconnect_spread] (the 1 s
//   floor below applies to it too): a broker restart or an endpoint-wide disconnect reaches
//   every gateway of the fleet in the same instant, and AWS IoT Core accepts only so many
//   CONNECTs per second per account (500 in the quota table), so a fleet of F must spread its
//   first attempts over at least F / quota seconds.
//   paho reports every loss the same way (connectionLost with no cause: peer close, reset,
//   keep-alive timeout or write error alike), so the plugin cannot tell a fleet-wide loss from
//   its own network blip, and spreads them all; a small fleet lowers reconnect_spread for quicker
//   recovery.
// - Later attempts: full-jitter exponential backoff from reconnect_min, capped at reconnect_max,
//   with no attempt limit.
// - Never less than 1 s between two attempts: AWS accepts one CONNECT per second per client id
//   (not adjustable), and an attempt refused at once must not be followed by another in the same
//   second.
#pragma once

#include "mqtt_settings.hpp"

#include <iotgw/plugins/common/backoff.hpp>

#include <chrono>

namespace iotgw::plugins::mqtt {

// AWS IoT Core: "Connect requests per second per client ID", 1.
inline constexpr std::chrono::milliseconds kSameClientIdConnectInterval{1000};

inline common::BackoffSettings reconnect_backoff_settings(const MqttSettings& s) {
    return {.min = s.reconnect_min,
            .max = s.reconnect_max,
            .jitter = common::BackoffSettings::Jitter::full,
            .floor = kSameClientIdConnectInterval};
}

// The wait before attempt `attempt` after a lost connection (0: the first, spread over the
// window; later ones from the backoff).
inline std::chrono::milliseconds delay_after_loss(common::Backoff& backoff, std::chrono::milliseconds spread,
                                                  unsigned attempt) {
    return attempt == 0 ? backoff.spread(spread) : backoff.delay(attempt);
}

}  // namespace iotgw::plugins::mqtt
