// The watch message a console publishes, retained, on amr/<thing>/watch while it shows the AMR's
// card: {"thing":"AMR-001","console":"<session id>","lease_s":90} (docs/watched-heartbeat.md).
// Parsing is separate from the plugin so that every refusal can be tested directly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace iotgw::plugins::watch {

struct WatchRequest {
    std::string console;
    uint64_t lease_s = 0;  // as sent (>= 1); the leases clamp it to max_lease
};

// nullopt for an empty payload: the broker deleting the retained watch (its expiry) or a client
// clearing it, which asks for nothing. Throws sdk::Error saying what is wrong for anything but a
// JSON object whose "thing" is `thing`, whose "console" is 1-128 characters of [A-Za-z0-9:_.-]
// and whose "lease_s" is an integer >= 1. Other keys are ignored, so a newer console may add some.
std::optional<WatchRequest> parse_watch(std::string_view payload, std::string_view thing);

// Bounds a parsed watch by the message it came in: its MQTT 5 message expiry (`expiry_s`, what
// the broker says is left of it) cuts the lease, so a lease never outlives the retained copy that
// would bring it back. A retained delivery (the broker's stored copy, sent when the gateway
// subscribes after a restart, a reconnect or a takeover) without an expiry is refused with
// sdk::Error: it would stay on the broker for ever and make the AMR fast again after every
// reconnect, long after its console closed. A live one without an expiry keeps its lease_s.
void limit_to_expiry(WatchRequest& request, bool retained, std::optional<uint32_t> expiry_s);

}  // namespace iotgw::plugins::watch
