#include "status_json.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace iotgw::plugins::amr_call {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void put(Writer& w, std::string_view key, std::string_view value) {
    w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

}  // namespace

std::string result_json(const amr::Decision& d, std::string_view state, int64_t ts_ms) {
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    w.Key("id");
    if (d.id)
        w.String(d.id->data(), static_cast<rapidjson::SizeType>(d.id->size()));
    else
        w.Null();
    put(w, "result", amr::to_string(d.result));
    if (d.result != amr::Result::accepted) {
        put(w, "reason", d.reason);
        put(w, "detail", d.detail);
    }
    if (d.result == amr::Result::duplicate) {
        put(w, "original", amr::to_string(d.original));
        if (!d.original_reason.empty()) put(w, "original_reason", d.original_reason);
    }
    put(w, "state", state);
    w.Key("ts");
    w.Int64(ts_ms);
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

std::string status_json(const Status& s) {
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    put(w, "state", s.state);
    w.Key("seq");
    w.Uint64(s.seq);
    w.Key("ts");
    w.Int64(s.ts_ms);
    if (s.command_id) put(w, "command_id", *s.command_id);
    if (s.error) put(w, "error", *s.error);
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace iotgw::plugins::amr_call
