#include <iotgw/plugins/common/trust_store.hpp>

namespace iotgw::plugins::common {

std::string trust_store_or_system(const std::string& ca_path) {
    return ca_path.empty() ? std::string(kSystemTrustStore) : ca_path;
}

}  // namespace iotgw::plugins::common
