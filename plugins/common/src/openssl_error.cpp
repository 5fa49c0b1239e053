#include <iotgw/plugins/common/openssl_error.hpp>

#include <openssl/err.h>

namespace iotgw::plugins::common {

std::string openssl_reason() {
    unsigned long last = 0;
    std::string data;
    for (;;) {
        const char* d = nullptr;
        int flags = 0;
        const unsigned long e = ERR_get_error_all(nullptr, nullptr, nullptr, &d, &flags);
        if (e == 0) break;
        last = e;
        data = (d != nullptr && (flags & ERR_TXT_STRING) != 0) ? d : "";
    }
    if (last == 0) return "unknown OpenSSL error";
    const char* reason = ERR_reason_error_string(last);
    std::string out = reason != nullptr ? reason : "unknown OpenSSL error";
    if (!data.empty()) out += " (" + data + ")";
    return out;
}

}  // namespace iotgw::plugins::common
