// What the ShadowService tests (shadow_service_test.cpp, shadow_errors_test.cpp) share: the
// shadows they address and how they read a reply.
#pragma once

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <string>

namespace localcore::shadow_test {

// AMR-001's classic shadow and its named shadow "nav".
inline const std::string kClassic = "$aws/things/AMR-001/shadow";
inline const std::string kNamed = "$aws/things/AMR-001/shadow/name/nav";

// The reply's clientToken, or a marker that makes a comparison fail readably.
inline std::string token_of(const rapidjson::Value& reply) {
    const auto it = reply.FindMember("clientToken");
    if (it == reply.MemberEnd() || !it->value.IsString()) return "<no clientToken>";
    return {it->value.GetString(), it->value.GetStringLength()};
}

// `text` as a JSON document; a test failure when it is not JSON.
inline rapidjson::Document parse(const std::string& text) {
    rapidjson::Document d;
    d.Parse(text.c_str(), text.size());
    EXPECT_FALSE(d.HasParseError()) << "not JSON: " << text;
    return d;
}

}  // namespace localcore::shadow_test
