// A one-level JSON object writer for the replies and events localcore publishes (fleet
// provisioning, rotation, lifecycle events): fields are written in call order, strings escaped
// by RapidJSON.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace localcore {

class JsonOut {
public:
    JsonOut() : w_(buffer_) { w_.StartObject(); }
    JsonOut(const JsonOut&) = delete;
    JsonOut& operator=(const JsonOut&) = delete;

    JsonOut& field(std::string_view key, std::string_view value) {
        this->key(key);
        w_.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
        return *this;
    }
    JsonOut& field(std::string_view key, const char* value) { return field(key, std::string_view(value)); }
    JsonOut& field(std::string_view key, const std::string& value) { return field(key, std::string_view(value)); }
    JsonOut& field(std::string_view key, int value) {
        this->key(key);
        w_.Int(value);
        return *this;
    }
    JsonOut& field(std::string_view key, std::int64_t value) {
        this->key(key);
        w_.Int64(value);
        return *this;
    }
    JsonOut& field(std::string_view key, bool value) {
        this->key(key);
        w_.Bool(value);
        return *this;
    }
    // A nested object of strings.
    JsonOut& object(std::string_view key, const std::map<std::string, std::string>& values) {
        this->key(key);
        w_.StartObject();
        for (const auto& [k, v] : values) {
            w_.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
            w_.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
        }
        w_.EndObject();
        return *this;
    }
    // An array of strings.
    JsonOut& array(std::string_view key, const std::vector<std::string>& values) {
        this->key(key);
        w_.StartArray();
        for (const auto& v : values) w_.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
        w_.EndArray();
        return *this;
    }
    // Closes the object; call once.
    std::string done() {
        w_.EndObject();
        return {buffer_.GetString(), buffer_.GetSize()};
    }

private:
    void key(std::string_view k) { w_.Key(k.data(), static_cast<rapidjson::SizeType>(k.size())); }

    rapidjson::StringBuffer buffer_;
    rapidjson::Writer<rapidjson::StringBuffer> w_;
};

}  // namespace localcore
