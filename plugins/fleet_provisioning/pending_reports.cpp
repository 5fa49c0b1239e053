#include "pending_reports.hpp"

#include <iotgw/plugins/common/durable_file.hpp>
#include <iotgw/sdk/json_parse.hpp>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace iotgw::plugins::fleet_provisioning {

bool rejection_is_retryable(const std::string& payload) {
    rapidjson::Document d;
    if (!sdk::parse_json(d, payload) || !d.IsObject()) return true;  // not the backend's answer: try again
    const auto code = d.FindMember("code");
    if (code == d.MemberEnd() || !code->value.IsInt()) return true;
    const int c = code->value.GetInt();
    return c != 403 && c != 404 && c != 409;
}

std::string PendingReports::open(const std::string& path) {
    path_ = path;
    list_.clear();
    token_.clear();
    std::ifstream in(path, std::ios::binary);
    if (!in) return "";
    std::ostringstream text;
    text << in.rdbuf();
    const std::string s = text.str();
    rapidjson::Document d;
    const sdk::JsonParseResult parsed = sdk::parse_json(d, s);
    const char* form = " (expected {\"pending\":[{\"oldCertificateId\":..,\"newCertificateId\":..}]}); ignoring it";
    if (!parsed) return path + " is not JSON (" + parsed.message + ")" + form;
    if (!d.IsObject() || !d.HasMember("pending") || !d["pending"].IsArray())
        return path + " is not a list of pending rotation reports" + form;
    std::size_t i = 0;
    for (const auto& e : d["pending"].GetArray()) {
        auto field = [&](const char* name) -> std::string {
            if (!e.IsObject()) return {};
            const auto it = e.FindMember(name);
            return it != e.MemberEnd() && it->value.IsString() ? it->value.GetString() : std::string();
        };
        RotationRecord r{field("oldCertificateId"), field("newCertificateId")};
        if (r.old_id.size() != 64) {
            list_.clear();
            return path + ": entry " + std::to_string(i) + " has no oldCertificateId of 64 hex digits" + form;
        }
        list_.push_back(std::move(r));
        ++i;
    }
    return "";
}

std::string PendingReports::add(const RotationRecord& r) {
    std::string dropped;
    list_.erase(std::remove_if(list_.begin(), list_.end(), [&](const RotationRecord& p) { return p.old_id == r.old_id; }),
                list_.end());
    list_.push_back(r);
    if (list_.size() > kMaxPendingReports) {
        dropped = std::to_string(list_.size()) + " rotation reports are unconfirmed (more than " +
                  std::to_string(kMaxPendingReports) + "): giving up the oldest; certificate " + list_.front().old_id +
                  " stays ACTIVE until an operator makes it INACTIVE (check the pipelines to and from "
                  "amr/<thing>/certificate/rotated and the backend that answers them)";
        list_.erase(list_.begin());
    }
    save();
    return dropped;
}

std::optional<RotationRecord> PendingReports::send_next(const std::string& token) {
    if (list_.empty() || in_flight()) return std::nullopt;
    token_ = token;
    return list_.front();
}

PendingReports::Answer PendingReports::on_reply(const std::string& token, bool accepted,
                                                const std::string& payload) {
    if (token_.empty() || token != token_) return Answer::not_ours;
    token_.clear();
    answered_ = list_.front();
    if (!accepted && rejection_is_retryable(payload)) return Answer::retry;
    list_.erase(list_.begin());
    save();
    return Answer::confirmed;
}

void PendingReports::save() const {
    if (list_.empty()) {
        common::remove_file_durably(path_);
        return;
    }
    rapidjson::StringBuffer out;
    rapidjson::Writer<rapidjson::StringBuffer> w(out);
    w.StartObject();
    w.Key("pending");
    w.StartArray();
    for (const auto& r : list_) {
        w.StartObject();
        w.Key("oldCertificateId");
        w.String(r.old_id.c_str(), static_cast<rapidjson::SizeType>(r.old_id.size()));
        w.Key("newCertificateId");
        w.String(r.new_id.c_str(), static_cast<rapidjson::SizeType>(r.new_id.size()));
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    common::write_file_atomic(path_, std::string(out.GetString(), out.GetSize()) + "\n", 0600);
}

}  // namespace iotgw::plugins::fleet_provisioning
