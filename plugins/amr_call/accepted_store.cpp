#include "accepted_store.hpp"

#include <iotgw/plugins/common/durable_file.hpp>
#include <iotgw/sdk.hpp>
#include <iotgw/sdk/json_parse.hpp>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

namespace iotgw::plugins::amr_call {

AcceptedStore::AcceptedStore(std::string state_dir)
    : dir_(std::move(state_dir)), path_(dir_.empty() ? std::string() : dir_ + "/accepted_calls.json") {}

std::vector<amr::AcceptedId> AcceptedStore::load(std::string& problem) const {
    problem.clear();
    std::vector<amr::AcceptedId> out;
    if (!enabled()) return out;
    std::ifstream in(path_, std::ios::binary);
    if (!in) return out;
    std::ostringstream text;
    text << in.rdbuf();
    const std::string s = text.str();
    auto refuse = [&](const std::string& why) {
        problem = path_ + ": not a list of accepted call ids (" + why + "); starting without it";
        return std::vector<amr::AcceptedId>{};
    };
    rapidjson::Document d;
    if (const sdk::JsonParseResult r = sdk::parse_json(d, s); !r) return refuse(r.message);
    const auto list = d.IsObject() ? d.FindMember("accepted") : rapidjson::Value::MemberIterator();
    if (!d.IsObject() || list == d.MemberEnd() || !list->value.IsArray())
        return refuse("expected {\"accepted\":[...]}");
    rapidjson::SizeType i = 0;
    for (const auto& e : list->value.GetArray()) {
        const std::string where = "entry " + std::to_string(i++);
        if (!e.IsObject()) return refuse(where + " is not an object");
        const auto id = e.FindMember("id");
        const auto expires = e.FindMember("expires_ms");
        if (id == e.MemberEnd() || !id->value.IsString() ||
            !amr::detail::id_problem(std::string_view(id->value.GetString(), id->value.GetStringLength())).empty())
            return refuse(where + " has no valid 'id'");
        if (expires == e.MemberEnd() || !expires->value.IsInt64())
            return refuse(where + " has no integer 'expires_ms'");
        out.push_back({id->value.GetString(), expires->value.GetInt64()});
    }
    return out;
}

void AcceptedStore::save(const std::vector<amr::AcceptedId>& ids) const {
    if (!enabled()) return;
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec) throw sdk::Error("cannot create state_dir '" + dir_ + "': " + ec.message());
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("accepted");
    w.StartArray();
    for (const auto& a : ids) {
        w.StartObject();
        w.Key("id");
        w.String(a.id.c_str(), static_cast<rapidjson::SizeType>(a.id.size()));
        w.Key("expires_ms");
        w.Int64(a.expires_ms);
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    common::write_file_atomic(path_, std::string(buf.GetString(), buf.GetSize()) + "\n", 0600);
}

}  // namespace iotgw::plugins::amr_call
