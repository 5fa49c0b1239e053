#include "config_fixture.hpp"

using testing::ElementsAre;
using testing::IsEmpty;

namespace iotgw::test {
namespace {

class PipelineValidation : public ConfigLoadTest {
protected:
    // Instances on lines 3..18; pipelines start at line 19. Returns the errors.
    std::vector<std::string> with(const std::string& pipelines) {
        diags = {};
        last = load(std::string(kGateway) +
                    "[credentials.prod]\ntype = \"file\"\ncert = \"c\"\nkey = \"k\"\n"
                    "[connections.cloud]\ntype = \"mqtt\"\nendpoint = \"h\"\ncredentials = \"prod\"\n"
                    "[sources.beat]\ntype = \"tick\"\n[sinks.console]\ntype = \"console\"\n" +
                    "[processors.only]\ntype = \"filter\"\n[sources.ctl]\ntype = \"listener\"\n" + pipelines);
        return errors();
    }
    std::string err(const std::string& pos, const std::string& msg) { return at(pos + ": error: " + msg); }
    std::optional<core::GatewayConfig> last;
};

// Lines 19..28: every instance used.
constexpr const char* kUseAll =
    "[[pipelines]]\nname = \"all\"\nfrom = \"cloud:in\"\nvia = [\"only\"]\nto = [\"console\", \"ctl\"]\n"
    "[[pipelines]]\nname = \"b\"\nfrom = \"beat\"\nvia = []\nto = [\"console\"]\n";

TEST_F(PipelineValidation, ValidPipelinesAndSharedProcessors) {
    auto result = with("[[pipelines]]\nname = \"a.b-c_d\"\nfrom = \"beat\"\nvia = [\"only\"]\nto = [\"console\", \"cloud:out/x\", \"ctl\"]\n"
                       "[[pipelines]]\nname = \"two\"\nfrom = \"cloud:in/#\"\nvia = [\"only\", \"only\"]\nto = [\"console\"]\n");
    EXPECT_THAT(result, IsEmpty());
    ASSERT_TRUE(last);
    ASSERT_EQ(last->pipelines.size(), 2u);
    EXPECT_EQ(last->pipelines[1].from.instance, "cloud");
    EXPECT_EQ(last->pipelines[1].from.address, "in/#");
}

TEST_F(PipelineValidation, UndefinedReferences) {
    EXPECT_THAT(with("[[pipelines]]\nname = \"heartbeat\"\nfrom = \"bet\"\nvia = [\"onyl\"]\nto = [\"consle\", \"zzzzzzz:x\"]\n"),
                ElementsAre(err("21:8", "pipeline 'heartbeat': 'from' refers to 'bet', which is not defined (did you mean 'beat'?)"),
                            err("22:8", "pipeline 'heartbeat': 'via' refers to 'onyl', which is not defined (did you mean 'only'?)"),
                            err("23:7", "pipeline 'heartbeat': 'to' refers to 'consle', which is not defined (did you mean 'console'?)"),
                            err("23:17", "pipeline 'heartbeat': 'to' refers to 'zzzzzzz', which is not defined")));
}

TEST_F(PipelineValidation, WrongKindsInFromViaTo) {
    auto p = [](const std::string& from, const std::string& via, const std::string& to) {
        return std::string(kUseAll) + "[[pipelines]]\nname = \"p\"\nfrom = \"" + from + "\"\nvia = [" + via + "]\nto = [" + to + "]\n";
    };
    EXPECT_THAT(with(p("cloud", "", "\"console\"")),
                ElementsAre(err("31:8", "pipeline 'p': 'from' names the connection 'cloud' without an address; write "
                                        "\"cloud:<address>\", e.g. with an MQTT topic filter")));
    EXPECT_THAT(with(p("only", "", "\"console\"")),
                ElementsAre(err("31:8", "pipeline 'p': 'from' is 'only', a processor instance; 'from' must be a source, "
                                        "or \"name:address\" of an instance with endpoints such as a connection")));
    EXPECT_THAT(with(p("beat:x", "", "\"console\"")),
                ElementsAre(err("31:8", "pipeline 'p': 'from' gives an address to 'beat', but the source plugin 'tick' has "
                                        "no addressable endpoints")));
    EXPECT_THAT(with(p("beat", "\"console\", \"only:x\"", "\"console\"")),
                ElementsAre(err("32:8", "pipeline 'p': 'via' entry 'console' is 'console', a sink instance; 'via' lists processors only"),
                            err("32:19", "pipeline 'p': 'via' entry 'only:x' has an address; processors are named without one")));
    EXPECT_THAT(with(p("beat", "", "\"beat\", \"only\", \"console:x\", \"cloud:\"")),
                ElementsAre(err("33:36", "pipeline 'p': 'to' entry 'cloud:' has an empty address")));
    EXPECT_THAT(with(p("beat", "", "\"beat\", \"prod\", \"console:x\"")),
                ElementsAre(err("33:7", "pipeline 'p': 'to' entry 'beat' is 'beat', a source instance and the source plugin "
                                        "'tick' does not accept messages"),
                            err("33:15", "pipeline 'p': 'to' entry 'prod' is 'prod', a credentials instance and the credentials "
                                         "plugin 'file' does not accept messages"),
                            err("33:23", "pipeline 'p': 'to' entry 'console:x' gives an address to 'console', but the sink "
                                         "plugin 'console' has no addressable endpoints")));
    EXPECT_THAT(with(p("beat", "", "")), ElementsAre(err("33:6", "pipeline 'p': 'to' must list at least one target")));
}

TEST_F(PipelineValidation, KeysNamesAndDuplicates) {
    EXPECT_THAT(with(std::string(kUseAll) + "[[pipelines]]\nname = \"all\"\nform = \"beat\"\nto = [\"console\"]\n"),
                ElementsAre(err("30:8", "pipeline name 'all' is used twice (first at " + at("19") + ")"),
                            err("31:1", "unknown key 'form' in pipeline 'all' (did you mean 'from'?); allowed keys: name, from, via, to"),
                            err("29:1", "pipeline 'all' is missing required key 'from'")));
    EXPECT_THAT(with("[[pipelines]]\nfrom = \"beat\"\nvia = \"only\"\n[[pipelines]]\nname = \"a b\"\nfrom = \"beat\"\nto = [\"console\"]\n"),
                ElementsAre(err("19:1", "pipeline #1 is missing required key 'name'"),
                            err("21:7", "pipeline #1: key 'via': expected array of strings, found string \"only\""),
                            err("19:1", "pipeline #1 is missing required key 'to'"),
                            err("23:8", "invalid pipeline name 'a b'; use only letters, digits, '_', '.' and '-'")));
    diags = {};
    load("pipelines = [1]\n" + std::string(kGateway));
    EXPECT_THAT(errors(), ElementsAre(err("1:14", "pipeline #1 must be a table ([[pipelines]]), found integer 1")));
    diags = {};
    load("pipelines = 1\n" + std::string(kGateway));
    EXPECT_THAT(errors(), ElementsAre(err("1:13", "'pipelines' must be an array of tables ([[pipelines]]), found integer 1")));
}

TEST_F(PipelineValidation, UnusedInstancesAreWarnedAbout) {
    with("[[pipelines]]\nname = \"p\"\nfrom = \"beat\"\nto = [\"console\"]\n");
    EXPECT_TRUE(last);
    auto result = lines();
    // prod is used by cloud's REF field, which does not make cloud itself used.
    EXPECT_THAT(result, ElementsAre(at("7:1: warning: instance 'cloud' ([connections.cloud], " + at("7") +
                                       ") is not used by any pipeline or instance"),
                                    at("15:1: warning: instance 'only' ([processors.only], " + at("15") +
                                       ") is not used by any pipeline or instance"),
                                    at("17:1: warning: instance 'ctl' ([sources.ctl], " + at("17") +
                                       ") is not used by any pipeline or instance")));
}

}  // namespace
}  // namespace iotgw::test
