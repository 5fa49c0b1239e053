// Shadow topic parsing: request topics, response topics and the name rules.
#include <gtest/gtest.h>

#include <string>

#include "shadow.hpp"

namespace {

using localcore::is_shadow_response_topic;
using localcore::parse_shadow_request_topic;
using Op = localcore::ShadowRequestTopic::Op;

TEST(ShadowTopic, ClassicRequests) {
    const struct {
        const char* topic;
        Op op;
    } cases[] = {{"$aws/things/AMR-001/shadow/get", Op::get},
                 {"$aws/things/AMR-001/shadow/update", Op::update},
                 {"$aws/things/AMR-001/shadow/delete", Op::delete_}};
    for (const auto& c : cases) {
        const auto t = parse_shadow_request_topic(c.topic);
        ASSERT_TRUE(t) << c.topic;
        EXPECT_EQ(t->thing, "AMR-001");
        EXPECT_EQ(t->shadow, "");
        EXPECT_EQ(t->op, c.op);
        EXPECT_EQ(t->prefix, "$aws/things/AMR-001/shadow");
    }
}

TEST(ShadowTopic, NamedRequests) {
    const auto t = parse_shadow_request_topic("$aws/things/AMR-001/shadow/name/$nav:cfg_1-x/update");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->thing, "AMR-001");
    EXPECT_EQ(t->shadow, "$nav:cfg_1-x");
    EXPECT_EQ(t->op, Op::update);
    EXPECT_EQ(t->prefix, "$aws/things/AMR-001/shadow/name/$nav:cfg_1-x");

    const auto d = parse_shadow_request_topic("$aws/things/a/shadow/name/b/delete");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->op, Op::delete_);
    EXPECT_EQ(d->prefix, "$aws/things/a/shadow/name/b");
}

TEST(ShadowTopic, ResponseTopicsAreNotRequests) {
    for (const char* prefix : {"$aws/things/AMR-001/shadow", "$aws/things/AMR-001/shadow/name/cfg"}) {
        for (const char* suffix :
             {"/get/accepted", "/get/rejected", "/update/accepted", "/update/rejected", "/update/delta",
              "/update/documents", "/delete/accepted", "/delete/rejected"}) {
            const std::string topic = std::string(prefix) + suffix;
            EXPECT_FALSE(parse_shadow_request_topic(topic)) << topic;
            EXPECT_TRUE(is_shadow_response_topic(topic)) << topic;
        }
    }
}

TEST(ShadowTopic, NotResponseTopics) {
    for (const char* topic : {
             "$aws/things/AMR-001/shadow/get",
             "$aws/things/AMR-001/shadow/update",
             "$aws/things/AMR-001/shadow/name/cfg/delete",
             "$aws/things/AMR-001/shadow/get/delta",  // delta only exists for update
             "$aws/things/AMR-001/shadow/delete/documents",
             "$aws/things/AMR-001/shadow/update/other",
             "$aws/things/AMR-001/shadow/list/accepted",
             "$aws/things/AMR-001/shadow/name/get/accepted",  // "name" needs a shadow name after it
             "$aws/things/AMR-001/shadow/update/accepted/x",
             "$aws/things/AMR-001/jobs/get/accepted",
             "things/AMR-001/shadow/get/accepted",
             "x/$aws/things/AMR-001/shadow/get/accepted",
         }) {
        EXPECT_FALSE(is_shadow_response_topic(topic)) << topic;
    }
}

TEST(ShadowTopic, ResponseShapeIsEnoughEvenWithInvalidNames) {
    // Refusing client publishes there must not depend on the names being valid: a wildcard
    // subscriber would receive the spoofed reply all the same.
    EXPECT_TRUE(is_shadow_response_topic("$aws/things/bad name/shadow/get/accepted"));
    EXPECT_TRUE(is_shadow_response_topic("$aws/things//shadow/update/delta"));
    EXPECT_TRUE(is_shadow_response_topic("$aws/things/t/shadow/name/a.b/update/documents"));
}

TEST(ShadowTopic, OtherTopicsAreNotRequests) {
    for (const char* topic : {
             "$aws/things/AMR-001/shadow",
             "$aws/things/AMR-001/shadow/",
             "$aws/things/AMR-001/shadow/list",
             "$aws/things/AMR-001/shadow/GET",
             "$aws/things/AMR-001/shadow/name/cfg",
             "$aws/things/AMR-001/shadow/name/get",
             "$aws/things/AMR-001/shadow/name/cfg/get/x",
             "$aws/things/AMR-001/shadow/other/cfg/get",
             "$aws/things/AMR-001/jobs/get",
             "$aws/things/AMR-001/shadow/get/",
             "$aws/things/shadow/get",
             "$aws/things/AMR-001/shadow/name//get",
             "aws/things/AMR-001/shadow/get",
             "x$aws/things/AMR-001/shadow/get",
             "",
         }) {
        EXPECT_FALSE(parse_shadow_request_topic(topic)) << topic;
    }
}

TEST(ShadowTopic, ThingNameRules) {
    const auto topic = [](const std::string& thing) { return "$aws/things/" + thing + "/shadow/get"; };
    EXPECT_TRUE(parse_shadow_request_topic(topic(std::string(128, 'a'))));
    EXPECT_FALSE(parse_shadow_request_topic(topic(std::string(129, 'a'))));
    EXPECT_TRUE(parse_shadow_request_topic(topic("aZ09:_-")));
    for (const char* bad : {"", "a b", "a.b", "a+", "#", "$thing", "ä", "a%20"})
        EXPECT_FALSE(parse_shadow_request_topic(topic(bad))) << bad;
    EXPECT_TRUE(localcore::is_valid_thing_name("AMR-001"));
    EXPECT_FALSE(localcore::is_valid_thing_name("$AMR"));
}

TEST(ShadowTopic, ShadowNameRules) {
    const auto topic = [](const std::string& shadow) {
        return "$aws/things/AMR-001/shadow/name/" + shadow + "/get";
    };
    EXPECT_TRUE(parse_shadow_request_topic(topic(std::string(64, 's'))));
    EXPECT_FALSE(parse_shadow_request_topic(topic(std::string(65, 's'))));
    EXPECT_TRUE(parse_shadow_request_topic(topic("$a:Z_0-9")));
    for (const char* bad : {"a b", "a.b", "a+", "a#", "ä", "a/b"})
        EXPECT_FALSE(parse_shadow_request_topic(topic(bad))) << bad;
}

TEST(ShadowTopic, ClassicFileNameIsNotANamedShadow) {
    // "$classic" names the classic shadow's file; a named shadow by that name would overwrite it.
    EXPECT_FALSE(parse_shadow_request_topic("$aws/things/AMR-001/shadow/name/$classic/update"));
    EXPECT_TRUE(parse_shadow_request_topic("$aws/things/AMR-001/shadow/name/$classic2/update"));
}

}  // namespace
