// What a localcore service (fleet provisioning, certificate rotation) answered to one request, with
// readers for the JSON fields the tests check, and the fleet provisioning topics the tests call.
// Shared by the provisioning and rotation tests.
#pragma once

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <string>
#include <vector>

namespace localcore::test {

// The fleet provisioning API: CreateKeysAndCertificate, CreateCertificateFromCsr and
// RegisterThing with the template "amr" (JSON payloads).
inline constexpr const char* kCreate = "$aws/certificates/create/json";
inline constexpr const char* kCreateFromCsr = "$aws/certificates/create-from-csr/json";
inline constexpr const char* kRegisterAmr = "$aws/provisioning-templates/amr/provision/json";

struct Reply {
    std::string topic;
    std::string payload;
    bool only_to_requester = false;

    rapidjson::Document doc() const {
        rapidjson::Document d;
        d.Parse(payload.c_str(), payload.size());
        return d;
    }
    // The string field `key`, or a marker that makes a comparison fail readably.
    std::string str(const char* key) const {
        const auto d = doc();
        if (!d.IsObject()) return "<not an object>";
        const auto it = d.FindMember(key);
        return it != d.MemberEnd() && it->value.IsString() ? it->value.GetString() : "<missing>";
    }
    // The integer field `key`, or -1.
    int number(const char* key) const {
        const auto d = doc();
        if (!d.IsObject()) return -1;
        const auto it = d.FindMember(key);
        return it != d.MemberEnd() && it->value.IsInt() ? it->value.GetInt() : -1;
    }
    bool has(const char* key) const {
        const auto d = doc();
        return d.IsObject() && d.HasMember(key);
    }
    // The "statusCode" of a provisioning rejection.
    int status() const { return number("statusCode"); }
};

// The one message a service's handle() returned for `request_topic` (a test failure when it
// returned another number of them).
template <class Message>
Reply only_reply(const std::vector<Message>& out, const std::string& request_topic) {
    EXPECT_EQ(out.size(), 1u) << "replies to " << request_topic;
    if (out.empty()) return {};
    return {out[0].topic, out[0].payload, out[0].only_to_requester};
}

}  // namespace localcore::test
