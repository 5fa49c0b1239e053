// The file provider's renewal slots on disk, next to the configured `cert` and `key`:
//   pending: <key>.pending, <cert>.pending   (a new key, then the certificate issued for it)
//   backup:  <key>.previous, <cert>.previous (the pair the last promotion replaced)
// The slot steps (store, promote, roll back, discard, recover) are the ones every renewing provider
// shares (<iotgw/plugins/common/renewal_slots.hpp>); what is file-specific is where the pending key comes
// from: made here, or imported with the certificate AWS created.
#pragma once

#include <iotgw/plugins/common/renewal_slots.hpp>

#include <string>

namespace iotgw::plugins::file {

using common::cert_matches_key;
using common::discard_pending;
using common::has_backup_pair;
using common::has_pending_pair;
using common::promote_pending;
using common::recover_slots;
using common::rollback_to_backup;
using common::SlotPaths;
using common::store_pending_certificate;

// A new P-256 key in the pending slot (an older pending key and certificate go) and a CSR for it
// with subject CN=`common_name` (none when empty), signed with SHA-256. Returns the CSR PEM.
std::string create_pending_key(const SlotPaths& p, const std::string& common_name);

// Keeps a certificate chain and its private key made elsewhere (AWS CreateKeysAndCertificate)
// as the pending pair: `chain_and_key_pem` holds the PEM certificates and one PEM private key,
// in any order. The key is re-encoded (PKCS#8, mode 0600) and written before the certificate.
// Throws when there is no key, no certificate, or they do not belong together.
void import_pending_pair(const SlotPaths& p, const std::string& chain_and_key_pem);

}  // namespace iotgw::plugins::file
