#include "config_fixture.hpp"

#include <iotgw/core/config_value.hpp>

using iotgw::core::GatewayConfig;
using testing::ElementsAre;
using testing::IsEmpty;

namespace iotgw::test {
namespace {

using ConfigBasics = ConfigLoadTest;

TEST_F(ConfigBasics, LoadsAValidConfigWithDefaults) {
    auto cfg = load(std::string(kGateway) + R"(log_level = "debug"
stop_timeout = "2s"

[sources.beat]
type = "tick"

[processors.only_beats]
type = "filter"
pattern = "b*"

[sinks.console]
type = "console"

[[pipelines]]
name = "heartbeat"
from = "beat"
via = ["only_beats"]
to = ["console"]
)");
    ASSERT_TRUE(cfg) << testing::PrintToString(lines());
    EXPECT_THAT(lines(), IsEmpty());
    EXPECT_EQ(cfg->file, main);
    EXPECT_EQ(cfg->gateway.thing, "AMR-001");
    EXPECT_EQ(cfg->gateway.log_level, IOTGW_LOG_DEBUG);
    EXPECT_EQ(cfg->gateway.stop_timeout_ms, 2000);
    EXPECT_TRUE(cfg->gateway.plugin_dirs.empty());
    ASSERT_EQ(cfg->instances.size(), 3u);
    // Sinks, then processors, then sources.
    EXPECT_EQ(cfg->instances[0].name, "console");
    EXPECT_EQ(cfg->instances[1].name, "only_beats");
    EXPECT_EQ(cfg->instances[2].name, "beat");
    const auto* beat = cfg->instance("beat");
    ASSERT_NE(beat, nullptr);
    EXPECT_EQ(beat->kind, IOTGW_KIND_SOURCE);
    EXPECT_EQ(beat->type, "tick");
    ASSERT_NE(beat->plugin, nullptr);
    EXPECT_EQ(beat->where.str(), at("6:1"));
    const auto& interval = beat->config->values.at("interval");
    EXPECT_EQ(interval.type, IOTGW_TYPE_DURATION);
    EXPECT_EQ(std::get<int64_t>(interval.data), 1000);
    EXPECT_TRUE(interval.where.file.empty());  // a default
    const auto& pattern = cfg->instance("only_beats")->config->values.at("pattern");
    EXPECT_EQ(std::get<std::string>(pattern.data), "b*");
    EXPECT_EQ(pattern.where.str(), at("11:11"));
    EXPECT_EQ(cfg->instance("nope"), nullptr);

    ASSERT_EQ(cfg->pipelines.size(), 1u);
    const auto& p = cfg->pipelines[0];
    EXPECT_EQ(p.name, "heartbeat");
    EXPECT_EQ(p.from.text(), "beat");
    ASSERT_EQ(p.via.size(), 1u);
    EXPECT_EQ(p.via[0].instance, "only_beats");
    ASSERT_EQ(p.to.size(), 1u);
    EXPECT_EQ(p.to[0].text(), "console");
    EXPECT_EQ(p.to[0].where.str(), at("20:7"));
}

TEST_F(ConfigBasics, EveryFieldTypeIsStored) {
    auto cfg = load(std::string(kGateway) + R"(
[credentials.prod]
type = "file"
cert = "certs/cert.pem"
key = "/abs/key.pem"

[connections.cloud]
type = "mqtt"
endpoint = "example.com"
credentials = "prod"

[sources.all]
type = "every"
label = "x"
count = 7
ratio = 1
enabled = false
period = "1m30s"
tags = ["a", "b"]
mode = "slow"
headers = { b = "2", a = "1" }
file = "../x/./y.txt"
creds = "prod"
peer = "cloud"
links = ["cloud"]

[sinks.console]
type = "console"

[[pipelines]]
name = "p"
from = "all"
to = ["console", "cloud:t/${thing}"]
)");
    ASSERT_TRUE(cfg) << testing::PrintToString(lines());
    const auto& v = cfg->instance("all")->config->values;
    EXPECT_EQ(std::get<std::string>(v.at("label").data), "x");
    EXPECT_EQ(std::get<int64_t>(v.at("count").data), 7);
    EXPECT_EQ(std::get<double>(v.at("ratio").data), 1.0);
    EXPECT_EQ(std::get<bool>(v.at("enabled").data), false);
    EXPECT_EQ(std::get<int64_t>(v.at("period").data), 90'000);
    EXPECT_THAT(std::get<std::vector<std::string>>(v.at("tags").data), ElementsAre("a", "b"));
    EXPECT_EQ(std::get<std::string>(v.at("mode").data), "slow");
    // Declaration order, not key order.
    EXPECT_THAT(std::get<core::StringMap>(v.at("headers").data),
                ElementsAre(std::pair<std::string, std::string>("b", "2"), std::pair<std::string, std::string>("a", "1")));
    EXPECT_EQ(std::get<std::string>(v.at("file").data), (dir.path().parent_path() / "x/y.txt").string());
    EXPECT_EQ(std::get<std::string>(v.at("data_dir").data), (dir.path() / "data").string());
    EXPECT_EQ(std::get<std::string>(cfg->instance("prod")->config->values.at("cert").data),
              (dir.path() / "certs/cert.pem").string());
    EXPECT_EQ(std::get<std::string>(cfg->instance("prod")->config->values.at("key").data), "/abs/key.pem");
    EXPECT_THAT(cfg->instance("all")->depends_on, ElementsAre("prod", "cloud"));
    EXPECT_THAT(cfg->instance("cloud")->depends_on, ElementsAre("prod"));
    EXPECT_EQ(cfg->pipelines[0].to[1].instance, "cloud");
    EXPECT_EQ(cfg->pipelines[0].to[1].address, "t/AMR-001");
    EXPECT_THAT(lines(), IsEmpty());
}

TEST_F(ConfigBasics, LoadConfigTextUsesTheVirtualPath) {
    auto path = dir.path() / "virtual.toml";
    core::LoadOptions options;
    options.use_default_plugin_dirs = false;
    auto cfg = core::load_config_text(
        "[gateway]\nthing = \"T\"\n[credentials.c]\ntype = \"file\"\ncert = \"c.pem\"\nkey = \"k.pem\"\n"
        "[connections.m]\ntype = \"mqtt\"\nendpoint = \"h\"\ncredentials = \"c\"\n"
        "[[pipelines]]\nname = \"p\"\nfrom = \"m:in\"\nto = [\"m:out\"]\n",
        path, registry, diags, options);
    ASSERT_TRUE(cfg) << testing::PrintToString(lines());
    EXPECT_EQ(cfg->file, path);
    EXPECT_EQ(std::get<std::string>(cfg->instance("c")->config->values.at("cert").data),
              (dir.path() / "c.pem").string());

    core::Diagnostics bad;
    EXPECT_FALSE(core::load_config_text("[gateway\n", "mem.toml", registry, bad, options));
    EXPECT_THAT(diagnostic_lines(bad), ElementsAre(testing::StartsWith("mem.toml:1:9: error: ")));
}

TEST_F(ConfigBasics, TomlSyntaxErrorHasLineAndColumn) {
    EXPECT_FALSE(load("[gateway]\nthing = \"A\"\nlog_level = info\n"));
    // toml++'s own wording differs between releases (3.3 on Debian 12, 3.4 on 13): pin ours.
    EXPECT_THAT(lines(), ElementsAre(testing::StartsWith(at("3:16: error: "))));
}

TEST_F(ConfigBasics, MissingFileIsAnError) {
    core::LoadOptions options;
    options.use_default_plugin_dirs = false;
    EXPECT_FALSE(core::load_config(dir.path() / "absent.toml", registry, diags, options));
    EXPECT_THAT(lines(), ElementsAre((dir.path() / "absent.toml").string() +
                                     ": error: cannot open the file: No such file or directory"));
}

TEST_F(ConfigBasics, GatewaySettingsAreChecked) {
    EXPECT_FALSE(load(R"([gateway]
thing = "AMR 001"
log_level = "verbose"
stop_timeout = "90s"
plugin_dir = ["x"]
)"));
    EXPECT_THAT(lines(),
                ElementsAre(at("5:1: error: unknown key 'plugin_dir' in [gateway] (did you mean 'plugin_dirs'?); "
                               "allowed keys: thing, plugin_dirs, log_level, stop_timeout, overlay_dir, variables"),
                            at("2:9: error: key 'thing' of [gateway]: 'AMR 001' is not a valid thing name; use 1 to "
                               "128 letters, digits, ':', '_' or '-'"),
                            at("3:13: error: key 'log_level' of [gateway]: 'verbose' is not an allowed value; "
                               "allowed: error, warning, notice, info, debug"),
                            at("4:16: error: key 'stop_timeout' of [gateway]: 1m30s is above the maximum 1m")));
}

TEST_F(ConfigBasics, GatewayIsRequired) {
    EXPECT_FALSE(load("[sinks.c]\ntype = \"console\"\n"));
    EXPECT_EQ(lines().at(0), (dir.path() / "gateway.toml").string() +
                                 ": error: missing [gateway] table; it must set at least 'thing', the AWS IoT thing name");
    diags = {};
    EXPECT_FALSE(load("[gateway]\nlog_level = \"info\"\n"));
    EXPECT_THAT(lines(), ElementsAre(at("1:1: error: [gateway] is missing required key 'thing' (the AWS IoT thing name)")));
}

TEST_F(ConfigBasics, PluginDirsAreResolvedAndLoadedBeforeDefaults) {
    std::filesystem::create_directories(dir.path() / "plugins");
    std::filesystem::create_directories(dir.path() / "defaults");
    core::LoadOptions options;
    options.default_plugin_dirs = {dir.path() / "defaults"};
    main = dir.write("gateway.toml", "[gateway]\nthing = \"T\"\nplugin_dirs = [\"plugins\", \"missing\"]\n");
    auto cfg = core::load_config(main, registry, diags, options);
    ASSERT_TRUE(cfg) << testing::PrintToString(lines());
    EXPECT_THAT(cfg->gateway.plugin_dirs,
                ElementsAre(dir.path() / "plugins", dir.path() / "missing", dir.path() / "defaults"));
    // The missing directory is a registry failure, reported as a warning.
    ASSERT_EQ(diags.warning_count(), 1u);
    EXPECT_EQ(diags.items()[0].where.file, (dir.path() / "missing").string());
}

TEST_F(ConfigBasics, UnknownTopLevelKey) {
    EXPECT_FALSE(load(std::string(kGateway) + "[sorces.beat]\ntype = \"tick\"\n"));
    EXPECT_THAT(lines(), ElementsAre(at("3:2: error: unknown key 'sorces' in the top level (did you mean 'sources'?); "
                                        "allowed keys: gateway, credentials, connections, sources, processors, sinks, "
                                        "job_handlers, pipelines")));
}

}  // namespace
}  // namespace iotgw::test
