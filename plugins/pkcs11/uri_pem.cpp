#include "uri_pem.hpp"

#include <openssl/bio.h>
#include <openssl/pem.h>

#include <cctype>
#include <cstdio>
#include <memory>

namespace iotgw::plugins::pkcs11 {
namespace {

constexpr const char* kDesc = "PKCS#11 Provider URI v1.0";

void der_length(std::string& out, size_t n) {
    if (n < 0x80) {
        out += static_cast<char>(n);
    } else if (n < 0x100) {
        out += '\x81';
        out += static_cast<char>(n);
    } else {
        out += '\x82';
        out += static_cast<char>((n >> 8) & 0xff);
        out += static_cast<char>(n & 0xff);
    }
}

std::string der_tlv(unsigned char tag, const std::string& value) {
    std::string out(1, static_cast<char>(tag));
    der_length(out, value.size());
    return out + value;
}

// Reads one TLV at `pos` in `der`; false when it does not fit.
bool read_tlv(const std::string& der, size_t& pos, unsigned char& tag, std::string& value) {
    if (pos + 2 > der.size()) return false;
    tag = static_cast<unsigned char>(der[pos++]);
    size_t n = static_cast<unsigned char>(der[pos++]);
    if (n & 0x80) {
        const size_t bytes = n & 0x7f;
        if (bytes == 0 || bytes > 2 || pos + bytes > der.size()) return false;
        n = 0;
        for (size_t i = 0; i < bytes; ++i) n = (n << 8) | static_cast<unsigned char>(der[pos++]);
    }
    if (pos + n > der.size()) return false;
    value = der.substr(pos, n);
    pos += n;
    return true;
}

struct BioFree {
    void operator()(BIO* b) const noexcept { BIO_free(b); }
};

int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::string uri_pem(const std::string& uri) {
    const std::string der = der_tlv(0x30, der_tlv(0x1a, kDesc) + der_tlv(0x0c, uri));
    std::unique_ptr<BIO, BioFree> b(BIO_new(BIO_s_mem()));
    if (!b || PEM_write_bio(b.get(), kUriPemLabel, "", reinterpret_cast<const unsigned char*>(der.data()),
                            static_cast<long>(der.size())) <= 0)
        return {};
    char* data = nullptr;
    const long n = BIO_get_mem_data(b.get(), &data);
    return std::string(data, static_cast<size_t>(n));
}

std::optional<std::string> uri_from_pem(const std::string& pem) {
    std::unique_ptr<BIO, BioFree> b(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long len = 0;
    if (!b || PEM_read_bio(b.get(), &name, &header, &data, &len) != 1) return std::nullopt;
    const bool ours = std::string(name) == kUriPemLabel;
    const std::string der(reinterpret_cast<const char*>(data), static_cast<size_t>(len));
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    if (!ours) return std::nullopt;
    size_t pos = 0;
    unsigned char tag = 0;
    std::string seq, desc, uri;
    if (!read_tlv(der, pos, tag, seq) || tag != 0x30) return std::nullopt;
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
