// What a broker-independent service engine (shadow, fleet provisioning) asks the broker plugin to
// publish. Engines never see broker types; the plugin turns each of these into a real PUBLISH.
#pragma once

#include <string>

namespace localcore {

struct OutboundMessage {
    std::string topic;
    std::string payload;
    // true: deliver only to the client whose request caused it (fleet provisioning replies carry
    // private keys); false: normal fan-out to every subscriber the broker allows.
    bool only_to_requester = false;
};

}  // namespace localcore
