// How many bytes the peer of a TCP socket has acknowledged so far, for telling a slow transfer
// from a stalled one. Private to iotgw::https. Its own file because <linux/tcp.h>, which has the
// counter, and <netinet/tcp.h>, which Asio includes, both define struct tcp_info.
#pragma once

#include <cstdint>
#include <optional>

namespace iotgw::plugins::https::detail {

// The kernel's count of bytes of `fd` the peer acknowledged (Linux 4.1 and later), or nothing if
// it cannot tell (not a TCP socket, an older kernel).
std::optional<std::uint64_t> tcp_bytes_acked(int fd);

}  // namespace iotgw::plugins::https::detail
