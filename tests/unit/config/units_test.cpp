// Durations, diagnostics, kinds, schemas and the config accessors: the pieces under the loader.
#include <iotgw/core/config_value.hpp>
#include <iotgw/core/diagnostics.hpp>
#include <iotgw/core/duration.hpp>
#include <iotgw/core/field_spec.hpp>
#include <iotgw/core/kinds.hpp>
#include <iotgw/sdk/schema.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <iterator>

namespace iotgw::core {
namespace {

using sdk::Field;

TEST(Duration, Parses) {
    EXPECT_EQ(parse_duration_ms("0s"), 0);
    EXPECT_EQ(parse_duration_ms("250ms"), 250);
    EXPECT_EQ(parse_duration_ms("10s"), 10'000);
    EXPECT_EQ(parse_duration_ms("1m30s"), 90'000);
    EXPECT_EQ(parse_duration_ms("2h"), 7'200'000);
    EXPECT_EQ(parse_duration_ms("1d2h3m4s5ms"), 93'784'005);
    EXPECT_EQ(parse_duration_ms("9223372036854775807ms"), INT64_MAX);
}

TEST(Duration, Rejects) {
    for (const char* bad : {"", "10", "-1s", "+1s", "1.5s", "10 s", " 10s", "10s ", "1x", "s", "30s1m", "1s1s",
                            "1ms1s", "10S", "9223372036854775808ms", "106751991168d", "99999999999999999999s"})
        EXPECT_EQ(parse_duration_ms(bad), std::nullopt) << bad;
}

TEST(Duration, Formats) {
    EXPECT_EQ(format_duration_ms(0), "0s");
    EXPECT_EQ(format_duration_ms(250), "250ms");
    EXPECT_EQ(format_duration_ms(90'000), "1m30s");
    EXPECT_EQ(format_duration_ms(86'400'000 + 1), "1d1ms");
    EXPECT_EQ(format_duration_ms(-1500), "-1s500ms");
    EXPECT_EQ(parse_duration_ms(format_duration_ms(INT64_MAX)), INT64_MAX);
}

TEST(Diagnostics, Rendering) {
    EXPECT_EQ((Diagnostic{Severity::error, {"a.toml", 12, 5}, "bad"}).str(), "a.toml:12:5: error: bad");
    EXPECT_EQ((Diagnostic{Severity::warning, {"a.toml", 12, 0}, "meh"}).str(), "a.toml:12: warning: meh");
    EXPECT_EQ((Diagnostic{Severity::error, {"a.toml", 0, 0}, "bad"}).str(), "a.toml: error: bad");
    EXPECT_EQ((Diagnostic{Severity::error, {}, "bad"}).str(), "error: bad");
    Diagnostics d;
    d.error({}, "e");
    d.warning({}, "w");
    Diagnostics more;
    more.error({}, "e2");
    d.append(more);
    EXPECT_TRUE(d.has_errors());
    EXPECT_EQ(d.error_count(), 2u);
    EXPECT_EQ(d.warning_count(), 1u);
}

TEST(Kinds, Names) {
    EXPECT_EQ(kind_table(IOTGW_KIND_CONNECTION), "connections");
    EXPECT_EQ(kind_name(IOTGW_KIND_CONNECTION), "connection");
    EXPECT_EQ(kind_name(IOTGW_KIND_CREDENTIALS), "credentials");
    EXPECT_EQ(kind_from_table("sinks"), IOTGW_KIND_SINK);
    EXPECT_EQ(kind_from_table("sink"), std::nullopt);
    EXPECT_TRUE(is_valid_kind(5));
    EXPECT_FALSE(is_valid_kind(0));
    // ABI 1.3's job handlers, which only plugins declaring 1.3 or newer may be.
    EXPECT_TRUE(is_valid_kind(6));
    EXPECT_EQ(kind_table(IOTGW_KIND_JOB_HANDLER), "job_handlers");
    EXPECT_EQ(kind_name(IOTGW_KIND_JOB_HANDLER), "job handler");
    EXPECT_EQ(kind_since_minor(IOTGW_KIND_JOB_HANDLER), 3u);
    EXPECT_EQ(kind_since_minor(IOTGW_KIND_SINK), 0u);
    EXPECT_FALSE(is_valid_kind(7));
}

iotgw_plugin_descriptor describe(const iotgw_config_field* fields, uint32_t count,
                                 uint32_t size = sizeof(iotgw_config_field)) {
    iotgw_plugin_descriptor d{};
    d.size = sizeof(d);
    d.config_fields = fields;
    d.config_field_count = count;
    d.config_field_size = size;
    return d;
}

std::string schema_error(std::initializer_list<iotgw_config_field> fields) {
    std::vector<iotgw_config_field> v(fields);
    std::vector<FieldSpec> out;
    auto err = read_schema(describe(v.data(), static_cast<uint32_t>(v.size())), out);
    return err.value_or("(accepted)");
}

TEST(Schema, ReadsFieldsAndDefaults) {
    constexpr iotgw_config_field fields[] = {
        Field::duration("window", "w").with_default("\"1m30s\"").at_least(100),
        Field::strings("tags", "t").with_default("[\"a\", \"b\"]"),
        Field::string("mode", "m").one_of("a|b").with_default("\"b\""),
        Field::ref("creds", IOTGW_KIND_CREDENTIALS, "c").required().secret(),
        Field::number("ratio", "r").with_default("1"),
    };
    std::vector<FieldSpec> out;
    ASSERT_EQ(read_schema(describe(fields, 5), out), std::nullopt);
    ASSERT_EQ(out.size(), 5u);
    EXPECT_EQ(std::get<int64_t>(out[0].default_value->data), 90'000);
    EXPECT_EQ(out[0].min, 100.0);
    EXPECT_EQ(out[0].default_literal, "\"1m30s\"");
    EXPECT_THAT(std::get<std::vector<std::string>>(out[1].default_value->data), testing::ElementsAre("a", "b"));
    EXPECT_THAT(out[2].choices, testing::ElementsAre("a", "b"));
    EXPECT_TRUE(out[3].required);
    EXPECT_TRUE(out[3].secret);
    EXPECT_EQ(out[3].ref_kind, static_cast<uint32_t>(IOTGW_KIND_CREDENTIALS));
    EXPECT_EQ(std::get<double>(out[4].default_value->data), 1.0);
}

TEST(Schema, HonoursTheDescriptorsFieldSize) {
    // A plugin built with a field struct 8 bytes longer than ours.
    struct Longer {
        iotgw_config_field f;
        uint64_t appended;
    };
    Longer fields[2] = {{Field::integer("a", "a"), 0xffffffffffffffffu}, {Field::boolean("b", "b"), 1}};
    std::vector<FieldSpec> out;
    ASSERT_EQ(read_schema(describe(&fields[0].f, 2, sizeof(Longer)), out), std::nullopt);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[1].name, "b");
    EXPECT_EQ(out[1].type, IOTGW_TYPE_BOOL);
    // And one that stops before `ref_kind`: the missing tail reads as zero.
    iotgw_config_field refs[2] = {Field::ref("r", IOTGW_KIND_SINK, "r"), Field::ref("s", IOTGW_KIND_SINK, "s")};
    ASSERT_EQ(read_schema(describe(refs, 1, offsetof(iotgw_config_field, ref_kind)), out), std::nullopt);
    EXPECT_EQ(out[0].ref_kind, 0u);
}

TEST(Schema, RejectsMalformedFields) {
    iotgw_config_field nameless = Field::integer("x", "x");
    nameless.name = nullptr;
    iotgw_config_field bad_type = Field::integer("x", "x");
    bad_type.type = 99;
    iotgw_config_field bad_kind = Field::ref("x", IOTGW_KIND_SINK, "x");
    bad_kind.ref_kind = 42;
    EXPECT_EQ(schema_error({nameless}), "config field #1 has no name (NULL)");
    EXPECT_EQ(schema_error({Field::integer("", "x")}), "config field #1 has an empty name");
    EXPECT_EQ(schema_error({Field::integer("Port", "x")}),
              "config field 'Port' has an invalid name: use only lower-case letters, digits and '_'");
    EXPECT_EQ(schema_error({Field::integer("a", "x"), Field::string("a", "y")}), "config field 'a' is declared twice");
    EXPECT_EQ(schema_error({Field::string("type", "x")}),
              "config field 'type' uses the reserved name 'type' (it selects the plugin)");
    EXPECT_EQ(schema_error({bad_type}), "config field 'x' has unknown type 99");
    EXPECT_EQ(schema_error({bad_kind}), "config field 'x' refers to unknown kind 42");
    EXPECT_EQ(schema_error({Field::integer("x", "x").one_of("1|2")}),
              "config field 'x' has choices, but only string fields can have them (it is a integer)");
    EXPECT_EQ(schema_error({Field::string("x", "x").one_of("a||b")}), "config field 'x' has an empty choice in \"a||b\"");
    EXPECT_EQ(schema_error({Field::string("x", "x").at_least(1)}),
              "config field 'x' has a minimum or maximum, but a string has no bounds");
    EXPECT_EQ(schema_error({Field::integer("x", "x").at_least(5).at_most(1)}),
              "config field 'x' has a minimum greater than its maximum");
    EXPECT_EQ(schema_error({Field::integer("x", "x").required().with_default("1")}),
              "config field 'x' is required and also has a default; a required field cannot have one");
    // The parenthesised reason is toml++'s, worded differently across releases.
    EXPECT_THAT(schema_error({Field::integer("x", "x").with_default("1 2")}),
                testing::StartsWith("config field 'x': its default 1 2 is not a TOML value ("));
    EXPECT_EQ(schema_error({Field::integer("x", "x").with_default("1\nw = 2")}),
              "config field 'x': its default 1\nw = 2 is not a single TOML value");
    EXPECT_EQ(schema_error({Field::integer("x", "x").with_default("\"1\"")}),
              "config field 'x': its default \"1\" does not fit the field: expected integer, found string \"1\"");
    EXPECT_EQ(schema_error({Field::duration("x", "x").with_default("10")}),
              "config field 'x': its default 10 does not fit the field: expected a duration string with a unit such "
              "as \"10s\", found integer 10");
    EXPECT_EQ(schema_error({Field::string("x", "x").one_of("a|b").with_default("\"c\"")}),
              "config field 'x': its default \"c\" does not fit the field: 'c' is not an allowed value; allowed: a, b");
    EXPECT_EQ(schema_error({Field::integer("x", "x").at_most(5).with_default("6")}),
              "config field 'x': its default 6 does not fit the field: 6 is above the maximum 5");
}

TEST(Schema, DescribeType) {
    auto d = [](const iotgw_config_field& raw) {
        FieldSpec f;
        f.type = static_cast<iotgw_value_type>(raw.type);
        f.ref_kind = raw.ref_kind;
        return describe_type(f);
    };
    EXPECT_EQ(d(Field::string("a", "")), "string");
    EXPECT_EQ(d(Field::integer("a", "")), "integer");
    EXPECT_EQ(d(Field::number("a", "")), "float");
    EXPECT_EQ(d(Field::boolean("a", "")), "boolean");
    EXPECT_EQ(d(Field::duration("a", "")), "duration (e.g. \"10s\")");
    EXPECT_EQ(d(Field::strings("a", "")), "array of strings");
    EXPECT_EQ(d(Field::path("a", "")), "path");
    EXPECT_EQ(d(Field::map("a", "")), "table of strings");
    EXPECT_EQ(d(Field::ref("a", IOTGW_KIND_CONNECTION, "")), "reference to a connection instance");
    EXPECT_EQ(d(Field::ref("a", static_cast<iotgw_kind>(0), "")), "reference to an instance");
    EXPECT_EQ(d(Field::refs("a", IOTGW_KIND_SINK, "")), "array of references to sink instances");
    EXPECT_EQ(d(Field::refs("a", static_cast<iotgw_kind>(0), "")), "array of references to instances");
}

TEST(Accessors, StatusCodes) {
    iotgw_config cfg;
    cfg.values["s"] = {IOTGW_TYPE_STRING, std::string("text"), {}};
    cfg.values["p"] = {IOTGW_TYPE_PATH, std::string("/x"), {}};
    cfg.values["r"] = {IOTGW_TYPE_REF, std::string("inst"), {}};
    cfg.values["i"] = {IOTGW_TYPE_INT, int64_t{7}, {}};
    cfg.values["f"] = {IOTGW_TYPE_FLOAT, 0.5, {}};
    cfg.values["b"] = {IOTGW_TYPE_BOOL, true, {}};
    cfg.values["d"] = {IOTGW_TYPE_DURATION, int64_t{1500}, {}};
    cfg.values["a"] = {IOTGW_TYPE_STRING_ARRAY, std::vector<std::string>{"x", "y"}, {}};
    cfg.values["ra"] = {IOTGW_TYPE_REF_ARRAY, std::vector<std::string>{"z"}, {}};
    cfg.values["m"] = {IOTGW_TYPE_STRING_MAP, StringMap{{"k", "v"}}, {}};

    const char* s = nullptr;
    size_t len = 0;
    for (const char* key : {"s", "p", "r"}) EXPECT_EQ(config_string(&cfg, key, &s, &len), IOTGW_OK) << key;
    EXPECT_STREQ(s, "inst");
    EXPECT_EQ(len, 4u);
    EXPECT_EQ(config_string(&cfg, "i", &s, &len), IOTGW_ERR_TYPE);
    EXPECT_EQ(config_string(&cfg, "missing", &s, &len), IOTGW_ERR_NOT_FOUND);

    int64_t i = 0;
    EXPECT_EQ(config_int(&cfg, "i", &i), IOTGW_OK);
    EXPECT_EQ(i, 7);
    EXPECT_EQ(config_int(&cfg, "d", &i), IOTGW_ERR_TYPE);
    EXPECT_EQ(config_int(&cfg, "f", &i), IOTGW_ERR_TYPE);
    EXPECT_EQ(config_int(&cfg, "missing", &i), IOTGW_ERR_NOT_FOUND);

    double f = 0;
    EXPECT_EQ(config_double(&cfg, "f", &f), IOTGW_OK);
    EXPECT_EQ(f, 0.5);
    EXPECT_EQ(config_double(&cfg, "i", &f), IOTGW_OK);
    EXPECT_EQ(f, 7.0);
    EXPECT_EQ(config_double(&cfg, "s", &f), IOTGW_ERR_TYPE);

    int b = 0;
    EXPECT_EQ(config_bool(&cfg, "b", &b), IOTGW_OK);
    EXPECT_EQ(b, 1);
    EXPECT_EQ(config_bool(&cfg, "i", &b), IOTGW_ERR_TYPE);

    EXPECT_EQ(config_duration_ms(&cfg, "d", &i), IOTGW_OK);
    EXPECT_EQ(i, 1500);
    EXPECT_EQ(config_duration_ms(&cfg, "i", &i), IOTGW_ERR_TYPE);

    size_t n = 0;
    EXPECT_EQ(config_array_size(&cfg, "a", &n), IOTGW_OK);
    EXPECT_EQ(n, 2u);
    EXPECT_EQ(config_array_size(&cfg, "ra", &n), IOTGW_OK);
    EXPECT_EQ(n, 1u);
    EXPECT_EQ(config_array_size(&cfg, "s", &n), IOTGW_ERR_TYPE);
    EXPECT_EQ(config_array_string(&cfg, "a", 1, &s, &len), IOTGW_OK);
    EXPECT_STREQ(s, "y");
    EXPECT_EQ(config_array_string(&cfg, "a", 2, &s, &len), IOTGW_ERR_NOT_FOUND);
    EXPECT_EQ(config_array_string(&cfg, "m", 0, &s, &len), IOTGW_ERR_TYPE);

    const char* k = nullptr;
    const char* v = nullptr;
    EXPECT_EQ(config_map_size(&cfg, "m", &n), IOTGW_OK);
    EXPECT_EQ(n, 1u);
    EXPECT_EQ(config_map_size(&cfg, "a", &n), IOTGW_ERR_TYPE);
    EXPECT_EQ(config_map_entry(&cfg, "m", 0, &k, &v), IOTGW_OK);
    EXPECT_STREQ(k, "k");
    EXPECT_STREQ(v, "v");
    EXPECT_EQ(config_map_entry(&cfg, "m", 1, &k, &v), IOTGW_ERR_NOT_FOUND);
    EXPECT_EQ(config_map_entry(&cfg, "missing", 0, &k, &v), IOTGW_ERR_NOT_FOUND);

    EXPECT_EQ(config_string(nullptr, "s", &s, &len), IOTGW_ERR_FAILED);
    EXPECT_EQ(config_string(&cfg, nullptr, &s, &len), IOTGW_ERR_FAILED);
    EXPECT_EQ(config_string(&cfg, "s", nullptr, &len), IOTGW_ERR_FAILED);
    EXPECT_EQ(config_int(&cfg, "i", nullptr), IOTGW_ERR_FAILED);
    EXPECT_EQ(config_double(nullptr, "f", &f), IOTGW_ERR_FAILED);
    EXPECT_EQ(config_bool(&cfg, "b", nullptr), IOTGW_ERR_FAILED);
    EXPECT_EQ(config_duration_ms(&cfg, nullptr, &i), IOTGW_ERR_FAILED);
    EXPECT_EQ(config_array_size(&cfg, "a", nullptr), IOTGW_ERR_FAILED);
    EXPECT_EQ(config_array_string(&cfg, "a", 0, nullptr, &len), IOTGW_ERR_FAILED);
    EXPECT_EQ(config_map_size(nullptr, "m", &n), IOTGW_ERR_FAILED);
    EXPECT_EQ(config_map_entry(&cfg, "m", 0, nullptr, &v), IOTGW_ERR_FAILED);
}

}  // namespace
}  // namespace iotgw::core
