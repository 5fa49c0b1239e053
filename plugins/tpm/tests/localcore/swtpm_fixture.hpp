// A software TPM for the tpm plugin's tests: swtpm on two free loopback ports with its own state
// directory, a persistent primary (storage) key made with tpm2-tools, killed and removed at the
// end. swtpm has no resource manager: every tpm2-tools step flushes its transient objects.
#pragma once

#include "child_process.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace iotgw::test::tpm {

inline constexpr const char* kParent = "0x81000001";

// Why the TPM tests cannot run on this system ("" when they can): the installed tpm2-openssl is
// older than 1.2, which fails TLS with TPM keys (Debian 12 ships 1.1.1). `installed` is its version.
std::string tls_unsupported_reason(std::string* installed);

struct CommandOutput {
    int status = -1;
    std::string output;
};

class SwTpm {
public:
    // Starts swtpm in `dir` and creates the primary key at kParent; throws std::runtime_error.
    explicit SwTpm(const std::filesystem::path& dir);
    ~SwTpm();
    SwTpm(const SwTpm&) = delete;
    SwTpm& operator=(const SwTpm&) = delete;

    std::string tcti() const;
    // Runs a tpm2-tools program (name without path) against this TPM.
    CommandOutput tool(const std::string& program, const std::vector<std::string>& args);
    // The TPM's own view of a TSS2 PEM key: loads it under its parent and returns the
    // `tpm2_readpublic` output (attributes among it); the transient object is flushed.
    std::string read_public(const std::filesystem::path& tss2_pem);

private:
    std::filesystem::path dir_;
    uint16_t port_ = 0;
    std::unique_ptr<ChildProcess> process_;
    int runs_ = 0;
};

}  // namespace iotgw::test::tpm
