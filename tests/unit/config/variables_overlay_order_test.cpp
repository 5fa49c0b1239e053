#include "config_fixture.hpp"

#include <cstdlib>

using testing::ElementsAre;
using testing::IsEmpty;

namespace iotgw::test {
namespace {

using Variables = ConfigLoadTest;
using Overlay = ConfigLoadTest;
using StartOrder = ConfigLoadTest;

std::string sink_with_prefix(const std::string& prefix) {
    return "[sources.beat]\ntype = \"tick\"\n[sinks.out]\ntype = \"console\"\nprefix = \"" + prefix +
           "\"\n[[pipelines]]\nname = \"p\"\nfrom = \"beat\"\nto = [\"out\"]\n";
}

TEST_F(Variables, AreSubstitutedInStrings) {
    ::setenv("IOTGW_CONFIG_TEST_VAR", "from-env", 1);
    auto cfg = load("[gateway]\nthing = \"T-${env:IOTGW_CONFIG_TEST_VAR}\"\n[gateway.variables]\nsite = \"tokyo-1\"\n" +
                    sink_with_prefix("${thing}/${site}/${env:IOTGW_CONFIG_TEST_VAR}/$${site}/$x"));
    ASSERT_TRUE(cfg) << testing::PrintToString(lines());
    EXPECT_EQ(cfg->gateway.thing, "T-from-env");
    EXPECT_EQ(cfg->gateway.variables.at("site"), "tokyo-1");
    EXPECT_EQ(cfg->gateway.variables.at("thing"), "T-from-env");
    EXPECT_EQ(std::get<std::string>(cfg->instance("out")->config->values.at("prefix").data),
              "T-from-env/tokyo-1/from-env/${site}/$x");
}

TEST_F(Variables, Errors) {
    const std::string head = "[gateway]\nthing = \"T\"\n[gateway.variables]\nsite = \"tokyo-1\"\n";
    load(head + sink_with_prefix("${sit}"));
    EXPECT_THAT(errors(), ElementsAre(at("9:10: error: key 'prefix' of [sinks.out]: unknown variable '${sit}' (did you "
                                         "mean 'site'?); defined variables: site, thing, env:NAME")));
    diags = {};
    ::unsetenv("IOTGW_CONFIG_TEST_UNSET");
    load(head + sink_with_prefix("${env:IOTGW_CONFIG_TEST_UNSET}"));
    EXPECT_THAT(errors(), ElementsAre(at("9:10: error: key 'prefix' of [sinks.out]: environment variable "
                                         "'IOTGW_CONFIG_TEST_UNSET' is not set (used as '${env:IOTGW_CONFIG_TEST_UNSET}')")));
    diags = {};
    load(head + sink_with_prefix("a${site"));
    EXPECT_THAT(errors(), ElementsAre(at("9:10: error: key 'prefix' of [sinks.out]: unterminated '${' in \"a${site\" "
                                         "(write '$${' for a literal '${')")));
    diags = {};
    load("[gateway]\nthing = \"${site}\"\n");
    EXPECT_THAT(errors(), ElementsAre(at("2:9: error: key 'thing' of [gateway]: '${site}' cannot be used in [gateway]; "
                                         "only ${env:NAME} can")));
    diags = {};
    load("[gateway]\nthing = \"T\"\n[gateway.variables]\nthing = \"x\"\n");
    EXPECT_THAT(errors(), ElementsAre(at("4:9: error: [gateway.variables] cannot define 'thing'; ${thing} is always the "
                                         "thing name")));
    diags = {};
    // Pipeline references are substituted too.
    load(head + "[sources.beat]\ntype = \"tick\"\n[[pipelines]]\nname = \"p\"\nfrom = \"beat\"\nto = [\"${nope}\"]\n");
    EXPECT_THAT(errors(), ElementsAre(at("10:6: error: pipeline 'p': key 'to': unknown variable '${nope}'; defined "
                                         "variables: site, thing, env:NAME")));
}

TEST_F(Overlay, MergesFilesInLexicalOrderAndKeepsTheirPositions) {
    dir.write("conf.d/20-late.toml", "[sinks.out]\nprefix = \"late\"\n");
    dir.write("conf.d/10-early.toml",
              "[sinks.out]\nprefix = \"early\"\n[sources.beat]\ninterval = \"2s\"\n"
              "[[pipelines]]\nname = \"p\"\nfrom = \"beat\"\nto = [\"out\", \"out2\"]\n"
              "[[pipelines]]\nname = \"new\"\nfrom = \"beat\"\nto = [\"out2\"]\n"
              "[sinks.out2]\ntype = \"console\"\n");
    dir.write("conf.d/ignored.txt", "not toml");
    auto cfg = load("[gateway]\nthing = \"T\"\noverlay_dir = \"conf.d\"\n" + sink_with_prefix("main"));
    ASSERT_TRUE(cfg) << testing::PrintToString(lines());
    EXPECT_THAT(lines(), IsEmpty());
    EXPECT_THAT(cfg->overlays, ElementsAre(dir.path() / "conf.d/10-early.toml", dir.path() / "conf.d/20-late.toml"));
    const auto& prefix = cfg->instance("out")->config->values.at("prefix");
    EXPECT_EQ(std::get<std::string>(prefix.data), "late");
    EXPECT_EQ(prefix.where.str(), at("2:10", "conf.d/20-late.toml"));
    EXPECT_EQ(std::get<int64_t>(cfg->instance("beat")->config->values.at("interval").data), 2000);
    ASSERT_EQ(cfg->pipelines.size(), 2u);
    EXPECT_EQ(cfg->pipelines[0].name, "p");
    EXPECT_EQ(cfg->pipelines[0].to.size(), 2u);  // replaced by the overlay's "p"
    EXPECT_EQ(cfg->pipelines[0].where.str(), at("5:1", "conf.d/10-early.toml"));
    EXPECT_EQ(cfg->pipelines[1].name, "new");
    EXPECT_EQ(cfg->instance("out2")->where.str(), at("13:1", "conf.d/10-early.toml"));
}

TEST_F(Overlay, DiagnosticsNameTheOverlayFile) {
    dir.write("conf.d/a.toml", "[sinks.out]\nprefix = 3\nprefx = \"x\"\n[[pipelines]]\nname = \"p\"\nfrom = \"beat\"\nto = [\"ot\"]\n");
    dir.write("conf.d/b.toml", "[gateway]\noverlay_dir = \"x\"\n");
    load("[gateway]\nthing = \"T\"\noverlay_dir = \"conf.d\"\n" + sink_with_prefix("main"));
    EXPECT_THAT(errors(),
                ElementsAre(at("2:15: error: overlay_dir can only be set in the main config file, not in an overlay", "conf.d/b.toml"),
                            at("2:10: error: key 'prefix' of [sinks.out]: expected string, found integer 3", "conf.d/a.toml"),
                            at("3:1: error: unknown key 'prefx' in [sinks.out] (did you mean 'prefix'?); allowed keys "
                               "of sink plugin 'console': type, prefix", "conf.d/a.toml"),
                            at("7:7: error: pipeline 'p': 'to' refers to 'ot', which is not defined (did you mean 'out'?)",
                               "conf.d/a.toml")));
}

TEST_F(Overlay, SyntaxErrorAndMissingDirectory) {
    dir.write("conf.d/a.toml", "[sinks\n");
    load("[gateway]\nthing = \"T\"\noverlay_dir = \"conf.d\"\n");
    ASSERT_EQ(errors().size(), 1u);
    EXPECT_EQ(errors()[0].rfind(at("1:7: error: ", "conf.d/a.toml"), 0), 0u) << errors()[0];
    diags = {};
    load("[gateway]\nthing = \"T\"\noverlay_dir = \"nowhere\"\n");
    EXPECT_THAT(errors(), ElementsAre(at("3:15: error: key 'overlay_dir' of [gateway]: directory '" +
                                         (dir.path() / "nowhere").string() + "' does not exist")));
}

TEST_F(StartOrder, DependenciesFirstThenKindThenDeclaration) {
    auto cfg = load(std::string(kGateway) + R"(
[sources.s2]
type = "every"
label = "x"
peer = "s1"
[sources.s1]
type = "every"
label = "x"
links = ["cloud"]
[sinks.out]
type = "console"
[processors.f]
type = "filter"
[connections.cloud]
type = "mqtt"
endpoint = "h"
credentials = "prod"
[credentials.prod]
type = "file"
cert = "c"
key = "k"
[[pipelines]]
name = "p"
from = "s2"
via = ["f"]
to = ["out"]
)");
    ASSERT_TRUE(cfg) << testing::PrintToString(lines());
    std::vector<std::string> names;
    for (const auto& i : cfg->instances) names.push_back(i.name);
    EXPECT_THAT(names, ElementsAre("prod", "cloud", "out", "f", "s1", "s2"));
}

TEST_F(StartOrder, ReferenceCycleIsAnError) {
    load(std::string(kGateway) + R"([sources.a]
type = "every"
label = "x"
peer = "b"
[sources.b]
type = "every"
label = "x"
peer = "c"
[sources.c]
type = "every"
label = "x"
peer = "a"
)");
    EXPECT_THAT(errors(), ElementsAre(at("3:1: error: instances refer to each other in a cycle: a -> b -> c -> a; none "
                                         "of them could start first")));
}

TEST(ConfigFixtures, ExampleFileLoads) {
    core::PluginRegistry registry(config_test_host_api());
    add_config_test_plugins(registry);
    core::Diagnostics diags;
    core::LoadOptions options;
    options.use_default_plugin_dirs = false;
    auto cfg = core::load_config(test_data_dir() / "config/valid/gateway.toml", registry, diags, options);
    ASSERT_TRUE(cfg) << testing::PrintToString(diagnostic_lines(diags));
    EXPECT_THAT(diagnostic_lines(diags), IsEmpty());
    EXPECT_EQ(cfg->overlays.size(), 1u);
    EXPECT_EQ(cfg->pipelines.size(), 3u);
    EXPECT_EQ(cfg->pipelines[0].to[1].address, "amr/AMR-001/heartbeat");
}

TEST(ConfigFixtures, BrokenFileListsAllProblems) {
    core::PluginRegistry registry(config_test_host_api());
    add_config_test_plugins(registry);
    core::Diagnostics diags;
    core::LoadOptions options;
    options.use_default_plugin_dirs = false;
    auto file = test_data_dir() / "config/invalid/gateway.toml";
    EXPECT_FALSE(core::load_config(file, registry, diags, options));
    const std::string f = file.string();
    EXPECT_THAT(diagnostic_lines(diags),
                ElementsAre(f + ":4:1: error: unknown key 'log_lvl' in [gateway] (did you mean 'log_level'?); allowed "
                                "keys: thing, plugin_dirs, log_level, stop_timeout, overlay_dir, variables",
                            f + ":8:12: error: key 'interval' of [sources.beat]: expected a duration string with a unit "
                                "such as \"10s\", found integer 10",
                            f + ":16:7: error: pipeline 'heartbeat': 'to' refers to 'consle', which is not defined (did "
                                "you mean 'console'?)",
                            f + ":10:1: warning: instance 'console' ([sinks.console], " + f +
                                ":10) is not used by any pipeline or instance"));
}

}  // namespace
}  // namespace iotgw::test
