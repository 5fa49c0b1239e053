// TCP_NODELAY for paho's socket, which paho.mqtt.c never sets and does not expose.
//
// Why it matters: answering a QoS1 command means a PUBACK immediately followed by a PUBLISH
// (the result). With Nagle's algorithm on, the PUBLISH waits for the TCP ACK of the PUBACK,
// and the broker's kernel delays that ACK by ~40 ms because a PUBACK asks for no reply:
// every command-to-status round trip then costs 40 ms instead of well under one.
#pragma once

#include <cstdint>

namespace iotgw::plugins::mqtt {

// Sets TCP_NODELAY on this process's connected TCP sockets whose peer port is `peer_port`.
// Returns how many sockets it set. Other clients of the same broker in this process get it
// too, which only ever helps them.
int set_nodelay_on_sockets_to(uint16_t peer_port) noexcept;

}  // namespace iotgw::plugins::mqtt
