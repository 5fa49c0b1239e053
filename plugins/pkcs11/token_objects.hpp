// Deletes key objects from the token once no key file refers to them any more (a rotation's
// previous-but-one key, a discarded pending key, the key a rollback dropped). A secure element
// has room for a handful of keys: without this, a device that rotates yearly fills it up.
// pkcs11-provider has no way to delete objects, so this talks PKCS#11 to the same module
// directly. The module is shared with pkcs11-provider in this process: it is initialized only if
// nobody did yet and never finalized, and the session's login is left to the module's rules
// (the user stays logged in while pkcs11-provider holds a session).
#pragma once

#include <string>

namespace iotgw::plugins::pkcs11 {

struct TokenAccess {
    std::string module;    // path of the PKCS#11 module
    std::string token;     // token label
    std::string pin_file;  // the user PIN on its first line
};

// Destroys every object on the token with CKA_LABEL `label` and CKA_ID `id` (the private and
// public key of one generated pair). Returns how many were destroyed; throws sdk::Error with the
// module's return code named.
int destroy_key_objects(const TokenAccess& access, const std::string& label, const std::string& id);

}  // namespace iotgw::plugins::pkcs11
