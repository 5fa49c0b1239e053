// The record of a rotation between the promotion of the new certificate and the backend's reply
// to the rotation report: "<cert>.rotation" next to the production certificate, JSON
// {"oldCertificateId": ..., "newCertificateId": ...}, written atomically BEFORE the promotion. A
// gateway killed after promoting (or before the report was answered) finds it at start: if the
// current certificate is the new one it proves it and sends the report again, so the old
// certificate still ends INACTIVE; otherwise (the promotion never happened or was rolled back)
// the record is stale and removed.
#pragma once

#include <optional>
#include <string>

namespace iotgw::plugins::fleet_provisioning {

struct RotationRecord {
    std::string old_id, new_id;
};

inline std::string rotation_record_path(const std::string& cert_path) { return cert_path + ".rotation"; }

void save_rotation_record(const std::string& path, const RotationRecord& r);
// nullopt when there is none; a record that does not parse is reported through `problem` and
// treated as none (it can only come from outside: ours are written atomically).
std::optional<RotationRecord> load_rotation_record(const std::string& path, std::string& problem);
void remove_rotation_record(const std::string& path);

}  // namespace iotgw::plugins::fleet_provisioning
