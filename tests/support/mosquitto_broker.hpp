// A real mosquitto with mutual TLS on a loopback port, and the development PKI (scripts/dev-pki)
// that issues its certificates and the devices' certificates.
#pragma once

#include "test_support.hpp"

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace iotgw::test {

// Runs scripts/dev-pki (path from the IOTGW_DEV_PKI compile definition). Throws with the
// script's output when it fails.
struct DevPki {
    explicit DevPki(std::filesystem::path dir);  // runs `init dir`
    std::filesystem::path dir, ca, server_cert, server_key;
    struct Device {
        std::filesystem::path cert, key;
    };
    // A new key and certificate DIR/NAME.{key,pem}; `extra_args` e.g. "--expired", "--ca other".
    Device device(const std::string& name, const std::string& extra_args = "");
};

class MosquittoBroker {
public:
    struct Options {
        bool require_certificate = true;  // mTLS with use_identity_as_username true (username = cert CN)
        bool per_thing_acl = true;        // pattern readwrite amr/%u/#  and  $aws/things/%u/#
        std::vector<std::string> extra_config;  // appended mosquitto.conf lines
    };
    MosquittoBroker(const DevPki& pki, Options options);  // starts it
    explicit MosquittoBroker(const DevPki& pki);
    ~MosquittoBroker();  // stops it (SIGTERM, bounded wait, then SIGKILL)
    MosquittoBroker(const MosquittoBroker&) = delete;
    MosquittoBroker& operator=(const MosquittoBroker&) = delete;

    void stop();       // stop now (SIGTERM: persistence is saved; port kept for restart)
    void start();      // (re)start on the same port with the same config and persistence dir
    void kill_hard();  // SIGKILL (for crash tests: nothing is saved)
    void freeze();     // SIGSTOP: connections stay open, nothing is read or acknowledged
    bool running() const noexcept { return pid_ > 0; }

    uint16_t port() const noexcept { return port_; }
    std::string host() const { return "localhost"; }  // matches the server cert
    std::string log() const;                          // the broker's log so far (log_type all)
    std::filesystem::path ca() const { return ca_; }
    std::filesystem::path config_path() const;

private:
    void write_config() const;
    void spawn();
    bool wait_listening();
    void reap(int signal_number, int grace_ms);
    std::string diagnostics() const;

    std::unique_ptr<TempDir> dir_;
    std::filesystem::path ca_, server_cert_, server_key_;
    Options options_;
    uint16_t port_ = 0;
    pid_t pid_ = -1;
    size_t log_start_ = 0;
};

}  // namespace iotgw::test
