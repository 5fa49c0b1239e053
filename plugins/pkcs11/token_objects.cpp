#include "token_objects.hpp"

#include <iotgw/sdk/errors.hpp>

#include <p11-kit/pkcs11.h>

#include <dlfcn.h>

#include <cstdio>
#include <fstream>
#include <vector>

namespace iotgw::plugins::pkcs11 {
namespace {

using sdk::Error;

std::string rv_text(CK_RV rv) {
    switch (rv) {
        case CKR_PIN_INCORRECT:
            return "CKR_PIN_INCORRECT";
        case CKR_PIN_LOCKED:
            return "CKR_PIN_LOCKED";
        case CKR_TOKEN_NOT_PRESENT:
            return "CKR_TOKEN_NOT_PRESENT";
        case CKR_SESSION_READ_ONLY:
            return "CKR_SESSION_READ_ONLY";
        case CKR_TOKEN_WRITE_PROTECTED:
            return "CKR_TOKEN_WRITE_PROTECTED";
        case CKR_ACTION_PROHIBITED:
            return "CKR_ACTION_PROHIBITED";
        case CKR_OBJECT_HANDLE_INVALID:
            return "CKR_OBJECT_HANDLE_INVALID";
        case CKR_USER_NOT_LOGGED_IN:
            return "CKR_USER_NOT_LOGGED_IN";
        default: {
            char buf[32];
            std::snprintf(buf, sizeof buf, "CK_RV 0x%lx", static_cast<unsigned long>(rv));
            return buf;
        }
    }
}

// Token labels are 32 bytes padded with spaces.
std::string padded_label(const unsigned char (&label)[32]) {
    std::string s(reinterpret_cast<const char*>(label), sizeof label);
    const auto end = s.find_last_not_of(' ');
    return end == std::string::npos ? "" : s.substr(0, end + 1);
}

std::string read_pin(const std::string& path) {
    std::ifstream in(path);
    std::string pin;
    if (!in || !std::getline(in, pin)) throw Error("cannot read the PIN from " + path);
    while (!pin.empty() && (pin.back() == '\r' || pin.back() == ' ')) pin.pop_back();
    return pin;
}

class Session {
public:
    Session(CK_FUNCTION_LIST* f, CK_SESSION_HANDLE h) : f_(f), h_(h) {}
    ~Session() { f_->C_CloseSession(h_); }
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    CK_SESSION_HANDLE get() const { return h_; }

private:
    CK_FUNCTION_LIST* f_;
    CK_SESSION_HANDLE h_;
};

}  // namespace

int destroy_key_objects(const TokenAccess& a, const std::string& label, const std::string& id) {
    // The handle pkcs11-provider got for the same path: dlopen counts references.
    void* lib = ::dlopen(a.module.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) throw Error("cannot load PKCS#11 module " + a.module + ": " + ::dlerror());
    struct Close {
        void* lib;
        ~Close() { ::dlclose(lib); }
    } close{lib};
    auto get_list = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(lib, "C_GetFunctionList"));
    CK_FUNCTION_LIST* f = nullptr;
    if (get_list == nullptr || get_list(&f) != CKR_OK || f == nullptr)
        throw Error("PKCS#11 module " + a.module + " has no usable C_GetFunctionList");

    CK_C_INITIALIZE_ARGS init{};
    init.flags = CKF_OS_LOCKING_OK;
    if (CK_RV rv = f->C_Initialize(&init); rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
        throw Error("C_Initialize of " + a.module + " failed: " + rv_text(rv));
    // Never C_Finalize: pkcs11-provider uses the same module instance in this process.

    CK_ULONG count = 0;
    if (CK_RV rv = f->C_GetSlotList(CK_TRUE, nullptr, &count); rv != CKR_OK)
        throw Error("C_GetSlotList failed: " + rv_text(rv));
    std::vector<CK_SLOT_ID> slots(count);
    if (CK_RV rv = f->C_GetSlotList(CK_TRUE, slots.data(), &count); rv != CKR_OK)
        throw Error("C_GetSlotList failed: " + rv_text(rv));
    slots.resize(count);
    CK_SLOT_ID slot = 0;
    bool found = false;
    for (CK_SLOT_ID s : slots) {
        CK_TOKEN_INFO info{};
        if (f->C_GetTokenInfo(s, &info) == CKR_OK && padded_label(info.label) == a.token) {
            slot = s;
            found = true;
            break;
        }
    }
    if (!found) throw Error("no token labelled '" + a.token + "' in " + a.module);

    CK_SESSION_HANDLE h = 0;
    if (CK_RV rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &h);
        rv != CKR_OK)
        throw Error("C_OpenSession on token '" + a.token + "' failed: " + rv_text(rv));
    Session session(f, h);
    std::string pin = read_pin(a.pin_file);
    CK_RV rv = f->C_Login(h, CKU_USER, reinterpret_cast<CK_UTF8CHAR*>(pin.data()), pin.size());
    pin.assign(pin.size(), '\0');
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
        throw Error("C_Login on token '" + a.token + "' failed: " + rv_text(rv));

    CK_BBOOL yes = CK_TRUE;
    std::string label_copy = label, id_copy = id;
    CK_ATTRIBUTE match[] = {
        {CKA_TOKEN, &yes, sizeof yes},
        {CKA_LABEL, label_copy.data(), label_copy.size()},
        {CKA_ID, id_copy.data(), id_copy.size()},
    };
    if (rv = f->C_FindObjectsInit(h, match, 3); rv != CKR_OK)
        throw Error("C_FindObjectsInit failed: " + rv_text(rv));
    std::vector<CK_OBJECT_HANDLE> objects(16);
    CK_ULONG n = 0;
    rv = f->C_FindObjects(h, objects.data(), objects.size(), &n);
    f->C_FindObjectsFinal(h);
    if (rv != CKR_OK) throw Error("C_FindObjects failed: " + rv_text(rv));
    int destroyed = 0;
    for (CK_ULONG i = 0; i < n; ++i) {
        if (rv = f->C_DestroyObject(h, objects[i]); rv != CKR_OK)
            throw Error("C_DestroyObject failed: " + rv_text(rv) + " (" + std::to_string(destroyed) + " of " +
                        std::to_string(n) + " objects destroyed)");
        ++destroyed;
    }
    return destroyed;
}

}  // namespace iotgw::plugins::pkcs11
