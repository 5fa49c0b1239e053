#include "tcp_nodelay.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstdlib>

namespace iotgw::plugins::mqtt {

int set_nodelay_on_sockets_to(uint16_t peer_port) noexcept {
    DIR* dir = opendir("/proc/self/fd");
    if (dir == nullptr) return 0;
    int set = 0;
    const int self = dirfd(dir);
    while (dirent* e = readdir(dir)) {
        char* end = nullptr;
        const long fd = std::strtol(e->d_name, &end, 10);
        if (end == e->d_name || *end != '\0' || fd == self) continue;
        const int s = static_cast<int>(fd);
        struct stat st {};
        if (fstat(s, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
        sockaddr_storage peer{};
        socklen_t len = sizeof peer;
        if (getpeername(s, reinterpret_cast<sockaddr*>(&peer), &len) != 0) continue;
        uint16_t port = 0;
        if (peer.ss_family == AF_INET)
            port = ntohs(reinterpret_cast<const sockaddr_in*>(&peer)->sin_port);
        else if (peer.ss_family == AF_INET6)
            port = ntohs(reinterpret_cast<const sockaddr_in6*>(&peer)->sin6_port);
        if (port != peer_port) continue;
        int one = 1;
        if (setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0) ++set;
    }
    closedir(dir);
    return set;
}

}  // namespace iotgw::plugins::mqtt
