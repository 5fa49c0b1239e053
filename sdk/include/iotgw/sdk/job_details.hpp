// A job's statusDetails object, {"k1":"v1",...} (AWS takes string values only), escaped by
// RapidJSON: what JobReport's progress(), succeed() and fail() take as `details`. A header of its
// own because it needs RapidJSON: link iotgw::json (find_package(iotgw-sdk COMPONENTS json)),
// while <iotgw/sdk.hpp> alone needs nothing but the SDK.
#pragma once

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <initializer_list>
#include <string>
#include <utility>

// Not "namespace iotgw::sdk": GCC rejects attributes on a nested namespace definition.
namespace iotgw {
namespace [[gnu::visibility("hidden")]] sdk {

inline std::string job_details(std::initializer_list<std::pair<const char*, std::string>> fields) {
    rapidjson::StringBuffer out;
    rapidjson::Writer<rapidjson::StringBuffer> w(out);
    w.StartObject();
    for (const auto& [k, v] : fields) {
        w.Key(k);
        w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
    }
    w.EndObject();
    return {out.GetString(), out.GetSize()};
}

}  // namespace sdk
}  // namespace iotgw
