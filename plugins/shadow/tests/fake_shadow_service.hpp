// A minimal Device Shadow service for the in-process tests: it answers the GETs and updates the
// plugin sent to the stand-in connection (doubles::seen()) the way AWS IoT does (clientToken
// echoed, optimistic locking with 409, version + 1 per update, a delta when desired differs from
// reported) and can write to the shadow as another client. Only what the tests need.
#pragma once

#include "document.hpp"
#include "pipeline_doubles.hpp"

#include <rapidjson/document.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace iotgw::plugins::shadow::testing {

inline constexpr const char* kPrefix = "$aws/things/AMR-001/shadow/name/robot";
inline constexpr const char* kReplies = "$aws/things/AMR-001/shadow/name/robot/+/+";

inline std::string topic(const std::string& sub) { return std::string(kPrefix) + "/" + sub; }

// The stand-in connection delivers `payload` on `sub` (e.g. "update/delta") to the replies pipeline.
inline bool deliver(const std::string& sub, const std::string& payload) {
    return iotgw::test::doubles::link_receive("cloud", kReplies, topic(sub), payload);
}

class FakeShadowService {
public:
    FakeShadowService() { clear(); }

    int64_t version = 0;
    bool exists = false;
    bool answer = true;          // false: requests are swallowed (timeouts)
    bool send_documents = true;  // also publish update/documents, as AWS does

    rapidjson::Document& state() { return state_; }
    std::string state_json() const { return to_json(state_); }

    // Answers every request sent since the last call. Returns how many it answered.
    int serve() {
        int answered = 0;
        for (;;) {
            const auto all = iotgw::test::doubles::seen();
            if (next_ >= all.size()) return answered;
            const auto s = all[next_++];
            if (!answer) continue;
            if (s.topic == topic("get")) {
                ++answered;
                get(s.payload);
            } else if (s.topic == topic("update")) {
                ++answered;
                update(s.payload);
            }
        }
    }

    // Another client writes `state_json` ({"desired":..,"reported":..}), token "other-client".
    void write_as_other(const std::string& state_json) {
        update(R"({"state":)" + state_json + R"(,"clientToken":"other-client"})");
    }

    void remove_shadow() {
        exists = false;
        clear();
        deliver("delete/accepted", R"({"version":)" + std::to_string(version) +
                                       R"(,"timestamp":1,"clientToken":"other-client"})");
    }

    // Forget requests sent so far (after clear_seen(), or to let the test answer them itself).
    void skip_sent() { next_ = iotgw::test::doubles::seen().size(); }
    void restart_scan() { next_ = 0; }

    static int64_t now_s() {
        return std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }

private:
    void clear() {
        state_.SetObject();
        meta_.SetObject();
    }

    static std::string token_member(const rapidjson::Document& d) {
        if (!d.IsObject() || !d.HasMember("clientToken") || !d["clientToken"].IsString()) return "";
        return std::string(R"(,"clientToken":")") + d["clientToken"].GetString() + "\"";
    }

    void get(const std::string& payload) {
        rapidjson::Document req;
        req.Parse(payload.c_str());
        if (!exists) {
            deliver("get/rejected",
                    R"({"code":404,"message":"No shadow exists with name: 'robot'","timestamp":1)" +
                        token_member(req) + "}");
            return;
        }
        std::string st = to_json(state_);
        const std::string delta = delta_json();
        if (delta != "{}")
            st = st.substr(0, st.size() - 1) + (st.size() > 2 ? "," : "") + R"("delta":)" + delta + "}";
        deliver("get/accepted", R"({"state":)" + st + R"(,"metadata":)" + to_json(meta_) + R"(,"version":)" +
                                    std::to_string(version) + R"(,"timestamp":1)" + token_member(req) + "}");
    }

    void update(const std::string& payload) {
        rapidjson::Document req;
        req.Parse(payload.c_str());
        const std::string token = token_member(req);
        if (req.HasMember("version") && req["version"].GetInt64() != version) {
            deliver("update/rejected",
                    R"({"code":409,"message":"Version conflict","timestamp":1)" + token + "}");
            return;
        }
        const rapidjson::Value& st = req["state"];
        const std::string previous =
            R"({"state":)" + to_json(state_) + R"(,"version":)" + std::to_string(version) + "}";
        merge_into(state_, st, state_.GetAllocator());
        if (st.HasMember("desired") && st["desired"].IsObject()) {
            if (!meta_.HasMember("desired"))
                meta_.AddMember("desired", rapidjson::Value(rapidjson::kObjectType), meta_.GetAllocator());
            for (const auto& m : st["desired"].GetObject()) {
                rapidjson::Value& md = meta_["desired"];
                if (md.HasMember(m.name)) md.RemoveMember(m.name);
                if (m.value.IsNull()) continue;
                rapidjson::Value ts(rapidjson::kObjectType);
                ts.AddMember("timestamp", now_s(), meta_.GetAllocator());
                md.AddMember(rapidjson::Value(m.name, meta_.GetAllocator()), ts, meta_.GetAllocator());
            }
        }
        ++version;
        exists = true;
        deliver("update/accepted", R"({"state":)" + to_json(st) + R"(,"metadata":)" + echo_metadata(st) +
                                       R"(,"version":)" + std::to_string(version) + R"(,"timestamp":1)" +
                                       token + "}");
        const std::string delta = delta_json();
        if (delta != "{}")
            deliver("update/delta", R"({"version":)" + std::to_string(version) +
                                        R"(,"timestamp":1,"state":)" + delta + R"(,"metadata":{})" + token +
                                        "}");
        if (send_documents)
            deliver("update/documents", R"({"previous":)" + previous + R"(,"current":{"state":)" +
                                            to_json(state_) + R"(,"metadata":)" + to_json(meta_) +
                                            R"(,"version":)" + std::to_string(version) +
                                            R"(},"timestamp":1)" + token + "}");
    }

    // Mirrors the request's top-level keys with the time of the update, as AWS's metadata does.
    static std::string echo_metadata(const rapidjson::Value& st) {
        std::string out = "{";
        for (const char* section : {"desired", "reported"}) {
            if (!st.IsObject() || !st.HasMember(section) || !st[section].IsObject()) continue;
            if (out.size() > 1) out += ",";
            out += std::string("\"") + section + "\":{";
            bool first = true;
            for (const auto& m : st[section].GetObject()) {
                out += (first ? "\"" : ",\"") + std::string(m.name.GetString()) + R"(":{"timestamp":)" +
                       std::to_string(now_s()) + "}";
                first = false;
            }
            out += "}";
        }
        return out + "}";
    }

    std::string delta_json() const {
        rapidjson::Document d(rapidjson::kObjectType);
        if (!state_.HasMember("desired")) return "{}";
        const rapidjson::Value* reported = state_.HasMember("reported") ? &state_["reported"] : nullptr;
        for (const auto& m : state_["desired"].GetObject()) {
            if (reported && reported->HasMember(m.name) && to_json((*reported)[m.name]) == to_json(m.value))
                continue;
            d.AddMember(rapidjson::Value(m.name, d.GetAllocator()),
                        rapidjson::Value(m.value, d.GetAllocator()), d.GetAllocator());
        }
        return to_json(d);
    }

    rapidjson::Document state_;
    rapidjson::Document meta_;
    std::size_t next_ = 0;
};

}  // namespace iotgw::plugins::shadow::testing
