// OpenSSL's error queue as one sentence, the same in every credentials plugin's messages.
#pragma once

#include <string>

namespace iotgw::plugins::common {

// The most specific reason OpenSSL queued, with its detail text when there is one (providers put
// the hardware's own reason there); clears the queue.
std::string openssl_reason();

}  // namespace iotgw::plugins::common
