// The file provider's renewal slots on disk, next to the configured `cert` and `key`:
//   pending: <key>.pending, <cert>.pending   (a new key, then the certificate issued for it)
//   backup:  <key>.previous, <cert>.previous (the pair the last promotion replaced)
// Every change is crash-safe: a file is written to a temporary name, fsynced, renamed into place
// and its directory fsynced, so a reader sees the old or the new content, never a part. A
// promotion or rollback moves two files and so cannot be one rename: both always rename the KEY
// first, and recover() finishes an interrupted one (the certificate that belongs to the key on
// disk is still under its .pending or .previous name).
#pragma once

#include <optional>
#include <string>

namespace iotgw::plugins::file {

struct SlotPaths {
    explicit SlotPaths(const std::string& cert_path, const std::string& key_path)
        : cert(cert_path),
          key(key_path),
          cert_pending(cert_path + ".pending"),
          key_pending(key_path + ".pending"),
          cert_backup(cert_path + ".previous"),
          key_backup(key_path + ".previous") {}
    std::string cert, key, cert_pending, key_pending, cert_backup, key_backup;
};

// Writes `content` to `path` atomically (temporary file with `mode`, fsync, rename, fsync dir).
void write_file_atomic(const std::string& path, const std::string& content, unsigned mode);

// A new P-256 key in the pending slot (an older pending key and certificate go) and a CSR for it
// with subject CN=`common_name` (none when empty), signed with SHA-256. Returns the CSR PEM.
std::string create_pending_key(const SlotPaths& p, const std::string& common_name);

// Keeps `pem` (a certificate chain) as the pending certificate after checking that its first
// certificate belongs to the pending key. Throws with the reason otherwise.
void store_pending_certificate(const SlotPaths& p, const std::string& pem);

// True when a complete pending pair (key + certificate) is on disk.
bool has_pending_pair(const SlotPaths& p);
bool has_backup_pair(const SlotPaths& p);

// current -> backup (hard links, so `cert`/`key` never disappear), pending -> current.
void promote_pending(const SlotPaths& p);
// backup -> current; the current pair is dropped.
void rollback_to_backup(const SlotPaths& p);
void discard_pending(const SlotPaths& p);

// Finishes a promotion or rollback a crash interrupted, removes stale temporary files. Returns a
// sentence for the log when it changed anything.
std::optional<std::string> recover_slots(const SlotPaths& p);

// Whether the first certificate in `cert_path` belongs to the key in `key_path` (false when
// either is missing or does not parse).
bool cert_matches_key(const std::string& cert_path, const std::string& key_path);

}  // namespace iotgw::plugins::file
