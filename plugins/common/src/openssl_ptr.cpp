#include <iotgw/plugins/common/openssl_ptr.hpp>

#include <iotgw/sdk/errors.hpp>

namespace iotgw::plugins::common {

BioPtr memory_reader(const std::string& text) {
    BioPtr b(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    if (!b) throw sdk::Error("out of memory");
    return b;
}

BioPtr memory_writer() {
    BioPtr b(BIO_new(BIO_s_mem()));
    if (!b) throw sdk::Error("out of memory");
    return b;
}

std::string memory_text(BIO* b) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(b, &data);
    return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

}  // namespace iotgw::plugins::common
