// Checks of the TPM itself before the tpm2 provider takes it over, each with the error an operator
// can act on: no TPM (device node or TCTI), the TPM in dictionary-attack lockout, no persistent
// parent key at the configured handle.
#pragma once

#include <cstdint>
#include <string>

namespace iotgw::plugins::tpm {

// Throws sdk::ConfigError with the reason. Opens and closes its own TPM connection: call it before
// the provider connects (a TPM without a resource manager, like swtpm, serves one at a time).
void check_tpm(const std::string& tcti, uint32_t parent);

}  // namespace iotgw::plugins::tpm
