#include "tpm_device.hpp"

#include <iotgw/sdk.hpp>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace iotgw::plugins::tpm {
namespace {

using sdk::ConfigError;

std::string hex(uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08x", v);
    return buf;
}

std::string rc_text(TSS2_RC rc) { return std::string(Tss2_RC_Decode(rc)) + " (" + hex(rc) + ")"; }

struct Tpm {
    TSS2_TCTI_CONTEXT* tcti = nullptr;
    ESYS_CONTEXT* esys = nullptr;
    ~Tpm() {
        if (esys != nullptr) Esys_Finalize(&esys);
        if (tcti != nullptr) Tss2_TctiLdr_Finalize(&tcti);
    }
};

}  // namespace

void check_tpm(const std::string& tcti, uint32_t parent) {
    const std::string device_prefix = "device:";
    if (tcti.compare(0, device_prefix.size(), device_prefix) == 0) {
        const std::string dev = tcti.substr(device_prefix.size());
        if (::access(dev.c_str(), F_OK) != 0)
            throw ConfigError(
                "no TPM: " + dev +
                " does not exist (enable the TPM: on a Raspberry Pi with a TPM "
                "module, `dtoverlay=tpm-slb9670` in config.txt; elsewhere in the firmware setup), or "
                "set `tcti`");
        if (::access(dev.c_str(), R_OK | W_OK) != 0)
            throw ConfigError("TPM " + dev + " cannot be opened: " + std::strerror(errno) +
                              " (add the gateway's user to group `tss`)");
    }
    Tpm t;
    if (TSS2_RC rc = Tss2_TctiLdr_Initialize(tcti.c_str(), &t.tcti); rc != TSS2_RC_SUCCESS)
        throw ConfigError("no TPM reachable through TCTI '" + tcti + "': " + rc_text(rc) + " (check `tcti`)");
    if (TSS2_RC rc = Esys_Initialize(&t.esys, t.tcti, nullptr); rc != TSS2_RC_SUCCESS)
        throw ConfigError("the TPM behind '" + tcti + "' does not answer: " + rc_text(rc));

    TPMI_YES_NO more = TPM2_NO;
    TPMS_CAPABILITY_DATA* caps = nullptr;
    TSS2_RC rc = Esys_GetCapability(t.esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_TPM_PROPERTIES,
                                    TPM2_PT_PERMANENT, 1, &more, &caps);
    if (rc != TSS2_RC_SUCCESS)
        throw ConfigError("the TPM behind '" + tcti + "' does not answer: " + rc_text(rc));
    const bool locked = caps->data.tpmProperties.count == 1 &&
                        caps->data.tpmProperties.tpmProperty[0].property == TPM2_PT_PERMANENT &&
                        (caps->data.tpmProperties.tpmProperty[0].value & TPMA_PERMANENT_INLOCKOUT) != 0;
    Esys_Free(caps);
    if (locked)
        throw ConfigError(
            "the TPM is in dictionary-attack lockout (too many wrong authorisations): it refuses keys "
            "until the lockout recovery time has passed, or until the owner clears it with "
            "`tpm2_dictionarylockout --clear-lockout`");

    ESYS_TR object = ESYS_TR_NONE;
    rc = Esys_TR_FromTPMPublic(t.esys, parent, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &object);
    if (rc != TSS2_RC_SUCCESS)
        throw ConfigError(
            "there is no persistent key at TPM handle " + hex(parent) + " (" + rc_text(rc) +
            "): check `parent`, or create the primary key once with `tpm2_createprimary -C o -G "
            "ecc -c primary.ctx && tpm2_evictcontrol -C o -c primary.ctx " +
            hex(parent) + "`");
    TPM2B_PUBLIC* pub = nullptr;
    rc = Esys_ReadPublic(t.esys, object, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, nullptr, nullptr);
    if (rc != TSS2_RC_SUCCESS)
        throw ConfigError("cannot read the parent key " + hex(parent) + ": " + rc_text(rc));
    const TPMA_OBJECT a = pub->publicArea.objectAttributes;
    Esys_Free(pub);
    Esys_TR_Close(t.esys, &object);
    if ((a & TPMA_OBJECT_RESTRICTED) == 0 || (a & TPMA_OBJECT_DECRYPT) == 0)
        throw ConfigError(
            "the TPM object at " + hex(parent) +
            " is not a storage key (restricted decrypt) and cannot be a parent: check `parent`");
}

}  // namespace iotgw::plugins::tpm
