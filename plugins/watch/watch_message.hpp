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

}  // namespace iotgw::plugins::watch
