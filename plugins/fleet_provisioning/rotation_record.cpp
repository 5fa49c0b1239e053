#include "rotation_record.hpp"

#include <iotgw/plugins/common/durable_file.hpp>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <iotgw/sdk/json_parse.hpp>

#include <fstream>
#include <sstream>

namespace iotgw::plugins::fleet_provisioning {

void save_rotation_record(const std::string& path, const RotationRecord& r) {
    rapidjson::StringBuffer out;
    rapidjson::Writer<rapidjson::StringBuffer> w(out);
    w.StartObject();
    w.Key("oldCertificateId");
    w.String(r.old_id.c_str(), static_cast<rapidjson::SizeType>(r.old_id.size()));
    w.Key("newCertificateId");
    w.String(r.new_id.c_str(), static_cast<rapidjson::SizeType>(r.new_id.size()));
    w.EndObject();
    common::write_file_atomic(path, std::string(out.GetString(), out.GetSize()) + "\n", 0600);
}

std::optional<RotationRecord> load_rotation_record(const std::string& path, std::string& problem) {
    problem.clear();
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    const std::string s = text.str();
    rapidjson::Document d;
    const bool parsed = static_cast<bool>(iotgw::sdk::parse_json(d, s));
    auto field = [&](const char* name) -> std::string {
        if (!parsed || !d.IsObject()) return {};
        auto it = d.FindMember(name);
        return it != d.MemberEnd() && it->value.IsString() ? it->value.GetString() : std::string();
    };
    RotationRecord r{field("oldCertificateId"), field("newCertificateId")};
    if (r.new_id.size() != 64) {
        problem = path +
                  " is not a rotation record (expected JSON with oldCertificateId and "
                  "newCertificateId of 64 hex digits)";
        return std::nullopt;
    }
    return r;
}

void remove_rotation_record(const std::string& path) { common::remove_file_durably(path); }

}  // namespace iotgw::plugins::fleet_provisioning
