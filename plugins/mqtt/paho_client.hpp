// The MqttClient seam (mqtt_client.hpp) over paho.mqtt.cpp's async_client: paho runs its own
// threads, and everything it reports is posted to the loop through a PahoBridge before it
// reaches ClientEvents.
#pragma once

#include "mqtt_client.hpp"
#include "mqtt_settings.hpp"

#include <iotgw/sdk.hpp>

#include <memory>

namespace iotgw::plugins::mqtt {

std::unique_ptr<MqttClient> make_paho_client(sdk::Host host, const MqttSettings& settings,
                                             ClientEvents& events);

}  // namespace iotgw::plugins::mqtt
