// clientTokens: one per request, so a reply is matched to the request it answers and never to
// another client's (or a previous run's) request on the same reply topic. AWS limits a token
// to 64 bytes.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace iotgw::plugins::shadow {

class ClientTokens {
public:
    static constexpr std::size_t kMaxBytes = 64;

    // "<instance, at most 24 chars>-<8 random hex digits>-<counter>": the random part tells this
    // run's requests from those of an earlier run of the same gateway.
    explicit ClientTokens(std::string_view instance, uint32_t random = std::random_device{}())
        : prefix_(std::string(instance.substr(0, 24)) + "-" + hex(random) + "-") {}

    std::string next() { return prefix_ + std::to_string(++counter_); }
    // This run's tokens (any counter), e.g. to tell a late reply of our own from another client's.
    bool is_ours(std::string_view token) const { return token.starts_with(prefix_); }

private:
    static std::string hex(uint32_t v) {
        static constexpr char kDigits[] = "0123456789abcdef";
        std::string out(8, '0');
        for (int i = 7; i >= 0; --i, v >>= 4) out[static_cast<std::size_t>(i)] = kDigits[v & 0xf];
        return out;
    }

    std::string prefix_;
    uint64_t counter_ = 0;
};

}  // namespace iotgw::plugins::shadow
