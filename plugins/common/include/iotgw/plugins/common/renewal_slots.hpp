// The renewal slots of a credentials provider, next to its configured `cert` and `key`. One
// implementation for `file` and the hardware-key providers (`pkcs11`, `tpm`), so operators and
// provisioning see one behaviour:
//   pending: <key>.pending, <cert>.pending   (a new key, then the certificate issued for it)
//   backup:  <key>.previous, <cert>.previous (the pair the last promotion replaced)
// A key file is a PEM private key or, for hardware keys, a PEM reference to one (TSS2 PEM, PKCS#11
// URI PEM); both are decoded with PEM_read_bio_PrivateKey in the default OpenSSL library context,
// where the provider that understands the reference has been loaded. Every change is crash-safe
// (durable_file.hpp); a promotion or rollback moves two files and so cannot be one rename: both
// rename the KEY first, and recover_slots() finishes an interrupted one (the certificate that
// belongs to the key on disk is still under its .pending or .previous name). The fault points
// ("slots.*", fault_point.hpp) let the crash-consistency tests stop the process between steps.
#pragma once

#include <iotgw/plugins/common/openssl_ptr.hpp>

#include <iotgw/sdk.hpp>

#include <openssl/x509.h>

#include <exception>
#include <optional>
#include <string>
#include <utility>

namespace iotgw::plugins::common {

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

// Key and certificate files are small; the cap (1 MiB) keeps a wrong path (a device, a huge file)
// harmless. Throws sdk::Error when it cannot be opened.
std::string read_small_file(const std::string& path);

// The passphrase callback for PEM_read_bio_PrivateKey: a daemon has no one to ask for a
// passphrase, so an encrypted key fails instead of prompting.
int no_passphrase(char*, int, int, void*);

// The first certificate of `pem`; throws sdk::Error naming `what` when there is none.
X509Ptr read_first_cert(const std::string& pem, const std::string& what);

// Whether the first certificate in `cert_path` belongs to the key in (or referred to by) `key_path`;
// false when either is missing or does not parse.
bool cert_matches_key(const std::string& cert_path, const std::string& key_path);

// Keeps `pem` (a certificate chain) as the pending certificate after checking that its first
// certificate belongs to the pending key. Throws with the reason otherwise.
void store_pending_certificate(const SlotPaths& p, const std::string& pem);

// True when a complete pair (key + the certificate belonging to it) is in that slot.
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

// One renewal step (sdk::RenewalOp) on the slots, with the same log lines for every provider, and
// its completion. `create_key(common_name)` makes the pending key where the provider keeps keys,
// logs what it made and returns the CSR; `after_switch(reason)` announces the pair now in use
// after a promotion or rollback.
template <class CreateKey, class AfterSwitch>
void run_renewal_op(const sdk::Host& host, const SlotPaths& s, sdk::RenewalOp op, const std::string& input,
                    sdk::CredentialsProvider::RenewalCompletion& done, CreateKey&& create_key,
                    AfterSwitch&& after_switch) {
    using Op = sdk::RenewalOp;
    std::string output;
    try {
        switch (op) {
            case Op::create_key:
                output = create_key(input);
                break;
            case Op::store_cert:
                store_pending_certificate(s, input);
                host.notice("stored the issued certificate as pending: ", s.cert_pending);
                break;
            case Op::promote:
                promote_pending(s);
                host.notice("promoted the pending key and certificate to ", s.key, " and ", s.cert,
                            "; the previous ones are kept as ", s.key_backup, " and ", s.cert_backup);
                after_switch("promoted");
                break;
            case Op::discard:
                discard_pending(s);
                host.info("discarded the pending key and certificate");
                break;
            case Op::rollback:
                rollback_to_backup(s);
                host.warning("rolled back to the previous key and certificate (", s.cert, ")");
                after_switch("rolled back");
                break;
        }
    } catch (const std::exception& e) {
        done.fail(std::string(sdk::renewal_op_name(op)) + " failed: " + e.what());
        return;
    }
    done.succeed(std::move(output));
}

}  // namespace iotgw::plugins::common
