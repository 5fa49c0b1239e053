#include "config_fixture.hpp"

using testing::ElementsAre;

namespace iotgw::test {
namespace {

class InstanceValidation : public ConfigLoadTest {
protected:
    // A config whose single source "s" of type "every" has the extra lines `fields` (line 6 on).
    std::vector<std::string> every(const std::string& fields) {
        diags = {};
        load(std::string(kGateway) +
             "[sinks.out]\ntype = \"console\"\n[sources.s]\ntype = \"every\"\nlabel = \"l\"\n" + fields +
             "\n[[pipelines]]\nname = \"p\"\nfrom = \"s\"\nto = [\"out\"]\n");
        return lines();
    }
    std::string key_error(const std::string& pos, const std::string& key, const std::string& why) {
        return at(pos + ": error: key '" + key + "' of [sources.s]: " + why);
    }
};

TEST_F(InstanceValidation, UnknownKeyListsThePluginsKeysAndSuggests) {
    EXPECT_THAT(every("lable = \"x\""),
                ElementsAre(at("8:1: error: unknown key 'lable' in [sources.s] (did you mean 'label'?); allowed keys "
                               "of source plugin 'every': type, label, count, ratio, enabled, period, tags, mode, "
                               "headers, file, data_dir, creds, peer, links")));
    EXPECT_THAT(every("zzzzzz = 1"),
                ElementsAre(at("8:1: error: unknown key 'zzzzzz' in [sources.s]; allowed keys of source plugin "
                               "'every': type, label, count, ratio, enabled, period, tags, mode, headers, file, "
                               "data_dir, creds, peer, links")));
}

TEST_F(InstanceValidation, WrongTypeOfEachKind) {
    EXPECT_THAT(every("mode = 1"), ElementsAre(key_error("8:8", "mode", "expected string, found integer 1")));
    EXPECT_THAT(every("count = \"ten\""), ElementsAre(key_error("8:9", "count", "expected integer, found string \"ten\"")));
    EXPECT_THAT(every("count = 1.5"), ElementsAre(key_error("8:9", "count", "expected integer, found float 1.5")));
    EXPECT_THAT(every("ratio = true"), ElementsAre(key_error("8:9", "ratio", "expected float, found boolean true")));
    EXPECT_THAT(every("enabled = \"yes\""), ElementsAre(key_error("8:11", "enabled", "expected boolean, found string \"yes\"")));
    EXPECT_THAT(every("period = 10"),
                ElementsAre(key_error("8:10", "period", "expected a duration string with a unit such as \"10s\", found integer 10")));
    EXPECT_THAT(every("period = [1]"), ElementsAre(key_error("8:10", "period", "expected duration (e.g. \"10s\"), found array")));
    EXPECT_THAT(every("period = \"10 s\""),
                ElementsAre(key_error("8:10", "period",
                                      "invalid duration \"10 s\": expected numbers with units (ms, s, m, h, d) in "
                                      "descending order, such as \"10s\", \"250ms\" or \"1m30s\"")));
    EXPECT_THAT(every("tags = \"a\""), ElementsAre(key_error("8:8", "tags", "expected array of strings, found string \"a\"")));
    EXPECT_THAT(every("tags = [\"a\", 2]"),
                ElementsAre(key_error("8:8", "tags", "expected array of strings, found integer 2 at index 1")));
    EXPECT_THAT(every("headers = \"a\""), ElementsAre(key_error("8:11", "headers", "expected table of strings, found string \"a\"")));
    EXPECT_THAT(every("headers = { a = 1 }"),
                ElementsAre(key_error("8:11", "headers", "expected table of strings, found integer 1 for key 'a'")));
    EXPECT_THAT(every("file = 1"), ElementsAre(key_error("8:8", "file", "expected path, found integer 1")));
    EXPECT_THAT(every("file = \"\""), ElementsAre(key_error("8:8", "file", "the path is empty")));
    EXPECT_THAT(every("creds = 1"),
                ElementsAre(key_error("8:9", "creds", "expected reference to a credentials instance, found integer 1")));
    EXPECT_THAT(every("peer = []"), ElementsAre(key_error("8:8", "peer", "expected reference to an instance, found array")));
    EXPECT_THAT(every("links = \"out\""),
                ElementsAre(key_error("8:9", "links", "expected array of references to connection instances, found string \"out\"")));
}

TEST_F(InstanceValidation, RangesAndChoices) {
    EXPECT_THAT(every("count = 101"), ElementsAre(key_error("8:9", "count", "101 is above the maximum 100")));
    EXPECT_THAT(every("count = -1"), ElementsAre(key_error("8:9", "count", "-1 is below the minimum 0")));
    EXPECT_THAT(every("ratio = 1.5"), ElementsAre(key_error("8:9", "ratio", "1.5 is above the maximum 1")));
    EXPECT_THAT(every("ratio = nan"), ElementsAre(key_error("8:9", "ratio", "nan is below the minimum 0")));
    EXPECT_THAT(every("period = \"50ms\""), ElementsAre(key_error("8:10", "period", "50ms is below the minimum 100ms")));
    EXPECT_THAT(every("period = \"1h1ms\""), ElementsAre(key_error("8:10", "period", "1h1ms is above the maximum 1h")));
    EXPECT_THAT(every("tags = []"), ElementsAre(key_error("8:8", "tags", "has 0 elements, at least 1 required")));
    EXPECT_THAT(every("tags = [\"a\", \"b\", \"c\", \"d\"]"),
                ElementsAre(key_error("8:8", "tags", "has 4 elements, at most 3 allowed")));
    EXPECT_THAT(every("mode = \"slwo\""),
                ElementsAre(key_error("8:8", "mode", "'slwo' is not an allowed value (did you mean 'slow'?); allowed: fast, slow")));
    EXPECT_THAT(every("mode = \"medium\""),
                ElementsAre(key_error("8:8", "mode", "'medium' is not an allowed value; allowed: fast, slow")));
}

TEST_F(InstanceValidation, MissingRequiredKeyIsReportedAtTheHeader) {
    load(std::string(kGateway) + "[connections.cloud]\ntype = \"mqtt\"\n");
    EXPECT_THAT(lines(), ElementsAre(at("3:1: error: [connections.cloud] is missing required key 'endpoint' (string)"),
                                     at("3:1: warning: instance 'cloud' ([connections.cloud], " + at("3") +
                                        ") is not used by any pipeline or instance")));
    diags = {};
    load(std::string(kGateway) + "[connections.cloud]\nendpoint = \"x\"\n");
    EXPECT_THAT(lines(), ElementsAre(at("3:1: error: [connections.cloud] is missing required key 'type' (which "
                                        "connection plugin to use; available: mqtt)"),
                                     at("3:1: warning: instance 'cloud' ([connections.cloud], " + at("3") +
                                        ") is not used by any pipeline or instance")));
}

TEST_F(InstanceValidation, UnknownPluginType) {
    load(std::string(kGateway) + "[connections.cloud]\ntype = \"mqt\"\n[[pipelines]]\nname = \"p\"\nfrom = \"cloud:a\"\nto = [\"cloud:b\"]\n");
    EXPECT_THAT(lines(), ElementsAre(at("4:8: error: unknown connection plugin type 'mqt' for [connections.cloud]; "
                                        "available connection plugins: mqtt")));
    diags = {};
    registry.add_builtin(nullptr, "builtin:broken");
    load(std::string(kGateway) + "[processors.x]\ntype = \"zip\"\n");
    EXPECT_THAT(lines(), ElementsAre(at("").substr(0, 0) + "builtin:broken: warning: builtin:broken: no entry point was given for this builtin plugin.",
                                     at("4:8: error: unknown processor plugin type 'zip' for [processors.x]; available "
                                        "processor plugins: filter (1 plugin library failed to load, see the warnings above)"),
                                     at("3:1: warning: instance 'x' ([processors.x], " + at("3") +
                                        ") is not used by any pipeline or instance")));
}

TEST_F(InstanceValidation, InstanceNamesAreUniqueAcrossKinds) {
    load(std::string(kGateway) + "[sinks.x]\ntype = \"console\"\n[sources.x]\ntype = \"tick\"\n"
         "[[pipelines]]\nname = \"p\"\nfrom = \"x\"\nto = [\"x\"]\n");
    EXPECT_EQ(lines().at(0), at("5:1: error: instance name 'x' is used twice: [sinks.x] (" + at("3") + ") and [sources.x] (" +
                                at("5") + "); instance names must be unique across all kinds"));
}

TEST_F(InstanceValidation, InvalidInstanceNameAndShape) {
    load(std::string(kGateway) + "[sinks.\"a.b\"]\ntype = \"console\"\n[sources]\nx = 1\n");
    // Kind by kind, in the order of all_kinds.
    EXPECT_THAT(lines(), ElementsAre(at("6:5: error: [sources.x] must be a table, found integer 1"),
                                     at("3:8: error: invalid instance name 'a.b' in [sinks]; use only letters, digits, '_' and '-'")));
    diags = {};
    load("sinks = 3\n" + std::string(kGateway));
    EXPECT_THAT(lines(), ElementsAre(at("1:9: error: 'sinks' must be a table of sink instances ([sinks.<name>]), found integer 3")));
}

TEST_F(InstanceValidation, References) {
    auto base = std::string(kGateway) + "[credentials.prod]\ntype = \"file\"\ncert = \"c\"\nkey = \"k\"\n"
                                        "[sinks.out]\ntype = \"console\"\n";
    load(base + "[connections.cloud]\ntype = \"mqtt\"\nendpoint = \"h\"\ncredentials = \"prd\"\n"
                "[[pipelines]]\nname = \"p\"\nfrom = \"cloud:a\"\nto = [\"out\"]\n");
    EXPECT_THAT(lines(), ElementsAre(at("12:15: error: key 'credentials' of [connections.cloud]: 'prd' is not a defined "
                                        "instance (did you mean 'prod'?)"),
                                     at("3:1: warning: instance 'prod' ([credentials.prod], " + at("3") +
                                        ") is not used by any pipeline or instance")));
    diags = {};
    load(base + "[connections.cloud]\ntype = \"mqtt\"\nendpoint = \"h\"\ncredentials = \"out\"\n"
                "[[pipelines]]\nname = \"p\"\nfrom = \"cloud:a\"\nto = [\"out\"]\n");
    EXPECT_EQ(lines().at(0), at("12:15: error: key 'credentials' of [connections.cloud]: 'out' is a sink instance "
                                "([sinks.out]), expected a credentials instance"));
    diags = {};
    load(base + "[connections.cloud]\ntype = \"mqtt\"\nendpoint = \"h\"\ncredentials = \"prod\"\n"
                "[sources.s]\ntype = \"every\"\nlabel = \"l\"\nlinks = [\"cloud\", \"prod\"]\n"
                "[[pipelines]]\nname = \"p\"\nfrom = \"s\"\nto = [\"out\"]\n");
    EXPECT_THAT(lines(), ElementsAre(at("16:19: error: key 'links' of [sources.s]: 'prod' is a credentials instance "
                                        "([credentials.prod]), expected a connection instance")));
}

}  // namespace
}  // namespace iotgw::test
