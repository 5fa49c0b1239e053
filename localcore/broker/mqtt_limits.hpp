// Topic helpers for the AWS IoT Core limits and the reserved topics the broker enforces.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace localcore::broker {

struct ClientState;

// Slashes counted the AWS way: the `$aws/rules/<rule>/` and `$share/<name>/` prefixes are exempt.
int counted_slashes(std::string_view topic);

// Topics only the service publishes (shadow responses, fleet provisioning replies, lifecycle
// events): AWS lets clients subscribe to them but never publish there.
bool is_service_only_topic(std::string_view topic);

// Whether one of the client's subscriptions matches `topic` (MQTT wildcard rules).
bool subscribed(const ClientState& state, std::string_view topic);

}  // namespace localcore::broker
