#include "uri_pem.hpp"

#include <iotgw/plugins/common/pem_der.hpp>

#include <cctype>
#include <cstdio>

namespace iotgw::plugins::pkcs11 {
namespace {

constexpr const char* kDesc = "PKCS#11 Provider URI v1.0";

int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::string uri_pem(const std::string& uri) {
    return common::write_pem_block(kUriPemLabel, common::tlv(0x30, common::tlv(0x1a, kDesc) + common::tlv(0x0c, uri)));
}

std::optional<std::string> uri_from_pem(const std::string& pem) {
    using common::read_tlv;
    const auto block = common::read_pem_block(pem);
    if (!block || block->label != kUriPemLabel) return std::nullopt;
    size_t pos = 0;
    unsigned char tag = 0;
    std::string seq, desc, uri;
    if (!read_tlv(block->der, pos, tag, seq) || tag != 0x30) return std::nullopt;
    pos = 0;
    if (!read_tlv(seq, pos, tag, desc) || tag != 0x1a) return std::nullopt;
    if (!read_tlv(seq, pos, tag, uri) || tag != 0x0c) return std::nullopt;
    return uri;
}

std::string pct_encode(const std::string& value) {
    std::string out;
    for (unsigned char c : value) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += static_cast<char>(c);
        } else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", c);
            out += buf;
        }
    }
    return out;
}

std::string pct_encode_bytes(const unsigned char* data, size_t n) {
    std::string out;
    for (size_t i = 0; i < n; ++i) {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%%%02x", data[i]);
        out += buf;
    }
    return out;
}

std::string uri_attribute(const std::string& uri, const std::string& name) {
    const std::string scheme = "pkcs11:";
    if (uri.compare(0, scheme.size(), scheme) != 0) return {};
    std::string path = uri.substr(scheme.size());
    path = path.substr(0, path.find('?'));
    size_t start = 0;
    while (start <= path.size()) {
        size_t end = path.find(';', start);
        if (end == std::string::npos) end = path.size();
        const std::string attr = path.substr(start, end - start);
        if (attr.compare(0, name.size() + 1, name + "=") == 0) {
            std::string out;
            const std::string v = attr.substr(name.size() + 1);
            for (size_t i = 0; i < v.size(); ++i) {
                if (v[i] == '%' && i + 2 < v.size() + 0 && hex(v[i + 1]) >= 0 && hex(v[i + 2]) >= 0) {
                    out += static_cast<char>(hex(v[i + 1]) * 16 + hex(v[i + 2]));
                    i += 2;
                } else {
                    out += v[i];
                }
            }
            return out;
        }
        start = end + 1;
    }
    return {};
}

}  // namespace iotgw::plugins::pkcs11
