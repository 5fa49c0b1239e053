#include "link_event.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace iotgw::plugins::mqtt {

std::string link_event_json(const LinkEvent& e) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    auto string = [&w](const std::string& s) {
        w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
    };
    w.StartObject();
    w.Key("connected");
    w.Bool(e.connected);
    if (e.session_present) {
        w.Key("session_present");
        w.Bool(*e.session_present);
    }
    if (e.reconnects) {
        w.Key("reconnects");
        w.Uint64(*e.reconnects);
    }
    if (e.reason) {
        w.Key("reason");
        string(*e.reason);
    }
    if (e.failures) {
        w.Key("failures");
        w.Uint64(*e.failures);
    }
    if (e.refusals) {
        w.Key("refusals");
        w.Uint64(*e.refusals);
    }
    if (e.last_failure) {
        w.Key("last_failure");
        string(*e.last_failure);
    }
    if (e.certificate_id) {
        w.Key("certificate_id");
        string(*e.certificate_id);
    }
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace iotgw::plugins::mqtt
