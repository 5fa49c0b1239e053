// The `paho-sync` client (paho_sync_client.cpp) lives in a module of its own,
// mqtt/libiotgw-mqtt-paho-sync.so beside the plugin, which the `mqtt` plugin loads only when an
// instance asks for it (client = "paho-sync").
//
// Why a module and not one more source file of the plugin: the synchronous paho C library
// (libpaho-mqtt3cs) and the asynchronous one the plugin links through paho.mqtt.cpp
// (libpaho-mqtt3as) export some functions under the same names (MQTTProperties_*, Thread_*).
// Loaded into one scope, one library's calls land in the other's copies; with Debian's build
// (paho's heap tracking on) properties one library read would be "freed" by the other, which
// finds no record of them and keeps them: a leak per MQTT 5 packet with properties. A module
// loaded RTLD_LOCAL has a symbol scope of its own in which libpaho-mqtt3cs only sees itself.
#pragma once

#include "mqtt_client.hpp"
#include "mqtt_settings.hpp"

#include <iotgw/plugin_abi.h>
#include <iotgw/sdk.hpp>

#include <memory>
#include <string>

namespace iotgw::plugins::mqtt {

// The module's one exported function: its host API slot is set from `api` (the module has a
// copy of the SDK's inline state of its own), then the client is made. Returns nullptr and
// fills `error` when the client cannot be made.
using MakePahoSyncClient = MqttClient*(const iotgw_host_api* api, sdk::Host host,
                                       const MqttSettings& settings, ClientEvents& events,
                                       std::string& error);
inline constexpr const char* kPahoSyncFactory = "iotgw_mqtt_make_paho_sync_client";
inline constexpr const char* kPahoSyncModule = "mqtt/libiotgw-mqtt-paho-sync.so";

// Loads the module from beside the plugin's own file (once per process; it is never unloaded,
// since paho's threads may outlive a client) and makes a client. Throws std::runtime_error with
// what went wrong (a missing file, unsafe ownership or permissions, dlopen's words).
std::unique_ptr<MqttClient> make_paho_sync_client(sdk::Host host, const MqttSettings& settings,
                                                  ClientEvents& events);

}  // namespace iotgw::plugins::mqtt
