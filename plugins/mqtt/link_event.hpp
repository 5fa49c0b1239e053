// The payload of the retained internal event "$iotgw/instance/<name>/link": the connection's state
// as JSON. fleet_provisioning reads it ("connected", "certificate_id", "refusals") to prove a new
// certificate and to notice one the broker keeps refusing; operators read it on the status page.
// Fields are only ever added, so older readers keep working.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace iotgw::plugins::mqtt {

// Every member that is unset (nullopt) is left out of the JSON.
struct LinkEvent {
    bool connected = false;
    std::optional<bool> session_present;        // after a connect
    std::optional<uint64_t> reconnects;         // after a connect: successful connects before this one
    std::optional<std::string> reason;          // after a disconnect or a failed attempt
    std::optional<uint64_t> failures;           // after a failed attempt: failed attempts in a row
    std::optional<uint64_t> refusals;           // after a failed attempt: of those, the last ones in a
                                                // row that refused this identity (connect_failure.hpp)
    std::optional<std::string> last_failure;    // after a failed attempt: its kind ("network", ...)
    std::optional<std::string> certificate_id;  // the AWS id of the certificate used or tried
};

// The three shapes the connection publishes.
// `session_present` unknown (nullopt) leaves the field out.
inline LinkEvent link_connected(std::optional<bool> session_present, uint64_t reconnects,
                                std::string certificate_id) {
    LinkEvent e;
    e.connected = true;
    e.session_present = session_present;
    e.reconnects = reconnects;
    e.certificate_id = std::move(certificate_id);
    return e;
}
inline LinkEvent link_attempt_failed(std::string reason, uint64_t failures, uint64_t refusals,
                                     std::string last_failure, std::string certificate_id) {
    LinkEvent e;
    e.reason = std::move(reason);
    e.failures = failures;
    e.refusals = refusals;
    e.last_failure = std::move(last_failure);
    e.certificate_id = std::move(certificate_id);
    return e;
}
inline LinkEvent link_down(std::string reason) {
    LinkEvent e;
    e.reason = std::move(reason);
    return e;
}

// {"connected":...,"session_present":...,"reconnects":...,"reason":...,"failures":...,
//  "refusals":...,"last_failure":...,"certificate_id":...}, in this order, written by RapidJSON
// (so `reason` is always escaped).
std::string link_event_json(const LinkEvent& e);

}  // namespace iotgw::plugins::mqtt
