// Loading real fixture libraries: the good ones become plugins, every broken one becomes a
// LoadFailure whose message names the file and says what to do.
#include "plugin_test_support.hpp"
#include "test_support.hpp"

#include <iotgw/core/plugin_registry.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <dlfcn.h>

#include <cstddef>
#include <memory>
#include <string>

namespace iotgw {
namespace {

namespace fs = std::filesystem;
using core::LoadedPlugin;
using core::PluginRegistry;
using test::fixture_case_dir;
using test::fixture_library;
using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class PluginLoading : public ::testing::Test {
protected:
    test::RecordingHost host;
    PluginRegistry registry{host.api()};

    // The single failure expected after loading one broken fixture.
    const core::LoadFailure& only_failure() {
        EXPECT_EQ(registry.failures().size(), 1u);
        if (registry.failures().empty()) {
            static const core::LoadFailure none{};
            return none;
        }
        return registry.failures().front();
    }

    std::string load_failure(const std::string& fixture_case) {
        registry.load_directory(fixture_case_dir(fixture_case));
        EXPECT_TRUE(registry.plugins().empty());
        const auto& f = only_failure();
        EXPECT_FALSE(f.fatal);
        return f.message;
    }
};

std::vector<std::string> names(const std::vector<const LoadedPlugin*>& plugins) {
    std::vector<std::string> out;
    for (const auto* p : plugins) out.push_back(p->name);
    return out;
}

TEST_F(PluginLoading, GoodFixturesLoadSortedByKindThenName) {
    registry.load_directory(fixture_case_dir("good"));
    EXPECT_TRUE(registry.failures().empty()) << registry.failures().front().message;
    EXPECT_FALSE(registry.has_fatal_failures());
    EXPECT_THAT(names(registry.plugins()),
                ElementsAre("fixture_source", "fixture_processor", "fixture_sink"));
}

TEST_F(PluginLoading, GoodSourceDescribesItself) {
    const auto lib = fixture_library("good", "good_source");
    const LoadedPlugin* p = registry.load_file(lib);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->origin, lib.string());
    EXPECT_EQ(p->kind, IOTGW_KIND_SOURCE);
    EXPECT_EQ(p->name, "fixture_source");
    EXPECT_EQ(p->version, "1.0.0");
    EXPECT_EQ(p->description, "test fixture: emits a fixed message periodically");
    EXPECT_EQ(p->abi_version, IOTGW_MAKE_ABI_VERSION(1, 0));
    ASSERT_NE(p->descriptor, nullptr);
    EXPECT_NE(p->descriptor->create, nullptr);

    ASSERT_EQ(p->fields.size(), 6u);
    EXPECT_EQ(p->fields[0].name, "topic");
    EXPECT_EQ(p->fields[0].type, IOTGW_TYPE_STRING);
    EXPECT_EQ(p->fields[0].default_literal, "\"fixture/source\"");
    const core::FieldSpec* interval = p->field("interval");
    ASSERT_NE(interval, nullptr);
    EXPECT_EQ(interval->type, IOTGW_TYPE_DURATION);
    EXPECT_EQ(interval->default_literal, "\"100ms\"");
    ASSERT_TRUE(interval->min.has_value());
    EXPECT_EQ(*interval->min, 1.0);
    EXPECT_TRUE(interval->default_value.has_value());
    EXPECT_EQ(p->field("count")->type, IOTGW_TYPE_INT);
    EXPECT_EQ(p->field("no_such_field"), nullptr);
}

TEST_F(PluginLoading, GoodProcessorAndSinkDescribeThemselves) {
    registry.load_directory(fixture_case_dir("good"));
    const LoadedPlugin* proc = registry.find(IOTGW_KIND_PROCESSOR, "fixture_processor");
    ASSERT_NE(proc, nullptr);
    EXPECT_EQ(proc->version, "1.0.0");
    EXPECT_NE(proc->descriptor->on_message, nullptr);
    ASSERT_NE(proc->field("drop"), nullptr);
    EXPECT_FALSE(proc->field("drop")->required);
    EXPECT_EQ(proc->field("suffix")->default_literal, "\"\"");

    const LoadedPlugin* sink = registry.find(IOTGW_KIND_SINK, "fixture_sink");
    ASSERT_NE(sink, nullptr);
    EXPECT_EQ(sink->origin, fixture_library("good", "good_sink").string());
    EXPECT_EQ(sink->field("file")->type, IOTGW_TYPE_PATH);

    // Kind is part of the key: a sink is not found as a source.
    EXPECT_EQ(registry.find(IOTGW_KIND_SOURCE, "fixture_sink"), nullptr);
    EXPECT_EQ(registry.find(IOTGW_KIND_SINK, "nonexistent"), nullptr);
}

TEST_F(PluginLoading, NoEntrySymbol) {
    const auto lib = fixture_library("no_entry_symbol", "no_entry_symbol").string();
    EXPECT_EQ(load_failure("no_entry_symbol"),
              lib + ": not an iotgw plugin: it does not export 'iotgw_plugin_entry'. Plugins declare "
                    "it with IOTGW_DECLARE_PLUGIN (see docs/plugin-sdk.md); if this is not a plugin, "
                    "move it out of the plugin directory.");
    EXPECT_EQ(only_failure().origin, lib);
}

TEST_F(PluginLoading, FutureMajorAbi) {
    const auto lib = fixture_library("future_major_abi", "future_major_abi").string();
    EXPECT_EQ(load_failure("future_major_abi"),
              lib + ": built for plugin ABI 2.0; this gateway (iotgw " IOTGW_VERSION
                    ") supports ABI 1.x: rebuild the plugin against iotgw-sdk 1.x, or install a "
                    "gateway that supports ABI 2.");
}

// The gateway's own ABI version as the messages print it ("1.1").
std::string current_abi() { return std::to_string(IOTGW_ABI_MAJOR) + "." + std::to_string(IOTGW_ABI_MINOR); }

TEST_F(PluginLoading, TooNewMinorAbi) {
    const auto lib = fixture_library("too_new_minor", "too_new_minor").string();
    EXPECT_EQ(load_failure("too_new_minor"),
              lib + ": needs gateway plugin ABI 1.99 or newer; this gateway provides " + current_abi() +
                  ": upgrade the gateway.");
}

TEST_F(PluginLoading, WrongStructSize) {
    const auto lib = fixture_library("wrong_struct_size", "wrong_struct_size").string();
    const std::size_t abi10 = offsetof(iotgw_plugin_descriptor, kind_api) + sizeof(void*);
    EXPECT_EQ(load_failure("wrong_struct_size"),
              lib + ": wrong struct size: its descriptor is 8 bytes, but every ABI 1.0 descriptor "
                    "has at least " + std::to_string(abi10) +
                  ": the plugin was not built with the SDK headers it claims; rebuild it against "
                  "iotgw-sdk 1.x.");
}

TEST_F(PluginLoading, NullDescriptorAndItsLogMessage) {
    const auto lib = fixture_library("null_descriptor", "null_descriptor").string();
    EXPECT_EQ(load_failure("null_descriptor"),
              lib + ": its entry point 'iotgw_plugin_entry' returned no descriptor (NULL), which "
                    "means the plugin refused to run with this gateway (iotgw " IOTGW_VERSION
                    ", plugin ABI " + current_abi() +
                  "): see the plugin's own log message for why, or install a build of the plugin made for "
                  "this gateway.");
    EXPECT_THAT(host.lines(), ElementsAre("<3>null_descriptor: refusing to load (test fixture)"));
}

TEST_F(PluginLoading, ThrowingCreateLoadsAndItsCreateReportsTheException) {
    registry.load_directory(fixture_case_dir("throwing_create"));
    EXPECT_TRUE(registry.failures().empty());
    const LoadedPlugin* p = registry.find(IOTGW_KIND_SOURCE, "fixture_throwing_create");
    ASSERT_NE(p, nullptr);
    // The constructor throws before touching host or config, so null handles are enough here.
    iotgw_error err{};
    void* instance = nullptr;
    EXPECT_EQ(p->descriptor->create(nullptr, nullptr, &instance, &err), IOTGW_ERR_EXCEPTION);
    EXPECT_EQ(instance, nullptr);
    EXPECT_STREQ(err.message, "simulated init failure");
}

TEST_F(PluginLoading, DuplicateNameIsFatalAndNamesBothLibraries) {
    registry.load_directory(fixture_case_dir("duplicate_name"));
    const auto a = fixture_library("duplicate_name", "duplicate_name_a").string();
    const auto b = fixture_library("duplicate_name", "duplicate_name_b").string();
    const auto& f = only_failure();
    EXPECT_TRUE(f.fatal);
    EXPECT_TRUE(registry.has_fatal_failures());
    EXPECT_EQ(f.origin, b);
    EXPECT_EQ(f.message, "plugin 'duplicate' (processor) is provided by both " + a + " and " + b +
                             ": remove one of them from the plugin directories.");
    // The first one (by file name) stays registered; the fatal failure blocks any config anyway.
    const LoadedPlugin* p = registry.find(IOTGW_KIND_PROCESSOR, "duplicate");
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->origin, a);
    EXPECT_EQ(p->version, "1.0.0");
}

TEST_F(PluginLoading, BadSchemaPassesTheSchemaReadersSentenceThrough) {
    const auto lib = fixture_library("bad_schema", "bad_schema").string();
    const std::string msg = load_failure("bad_schema");
    EXPECT_THAT(msg, StartsWith(lib + ": plugin 'bad_schema' (sink) has an invalid config schema: "));
    EXPECT_THAT(msg, HasSubstr("'topic'"));
    EXPECT_THAT(msg, HasSubstr("twice"));
    EXPECT_THAT(msg, EndsWith(". Fix the schema in the plugin and rebuild it."));
}

TEST_F(PluginLoading, BadDefaultIsRefusedAtLoadTime) {
    const auto lib = fixture_library("bad_default", "bad_default").string();
    const std::string msg = load_failure("bad_default");
    EXPECT_THAT(msg, StartsWith(lib + ": plugin 'bad_default' (sink) has an invalid config schema: "));
    EXPECT_THAT(msg, HasSubstr("'mode'"));
    EXPECT_THAT(msg, HasSubstr("not toml"));
    EXPECT_THAT(msg, EndsWith(". Fix the schema in the plugin and rebuild it."));
}

TEST_F(PluginLoading, UnresolvedSymbolShowsTheLoadersReason) {
    const auto lib = fixture_library("unresolved_symbol", "unresolved_symbol").string();
    EXPECT_EQ(load_failure("unresolved_symbol"),
              lib + ": cannot load the library (undefined symbol: iotgw_fixture_missing_function): "
                    "the plugin uses a function that neither it nor the libraries it links provide: "
                    "rebuild it linking every library it needs (iotgw_sdk_add_plugin links with "
                    "-Wl,--no-undefined to catch this at build time), or install the library version "
                    "it was built for.");
}

TEST_F(PluginLoading, MissingDependencyShowsTheLoadersReason) {
    const auto lib = fixture_library("missing_dependency", "missing_dependency").string();
    EXPECT_EQ(load_failure("missing_dependency"),
              lib + ": cannot load the library (libiotgw_fixture_dependency.so: cannot open shared "
                    "object file: No such file or directory): a library it depends on is missing: "
                    "install it (`ldd " + lib + "` lists what is not found), or rebuild the plugin "
                    "without it.");
}

TEST_F(PluginLoading, NotAnElfFile) {
    const auto lib = (fixture_case_dir("not_an_elf") / "libiotgw-junk.so").string();
    EXPECT_EQ(load_failure("not_an_elf"),
              lib + ": cannot load the library (invalid ELF header): it is not a shared library; if "
                    "this is not a plugin, move it out of the plugin directory.");
}

TEST_F(PluginLoading, EmptyFileNamedLikeALibrary) {
    test::TempDir dir;
    const auto lib = dir.write("libiotgw-empty.so", "").string();
    registry.load_directory(dir.path());
    EXPECT_EQ(only_failure().message,
              lib + ": cannot load the library (file too short): it is not a shared library; if "
                    "this is not a plugin, move it out of the plugin directory.");
}

TEST_F(PluginLoading, MissingDirectory) {
    test::TempDir dir;
    const auto missing = dir.path() / "no-such-dir";
    registry.load_directory(missing);
    const auto& f = only_failure();
    EXPECT_FALSE(f.fatal);
    EXPECT_EQ(f.origin, missing.string());
    EXPECT_EQ(f.message, "plugin directory " + missing.string() +
                             " does not exist: create it, or correct or remove the path that lists it.");
}

TEST_F(PluginLoading, FileInsteadOfDirectory) {
    test::TempDir dir;
    const auto file = dir.write("plugins", "x");
    registry.load_directory(file);
    EXPECT_EQ(only_failure().message,
              "plugin directory " + file.string() +
                  " is not a directory: list the directory that contains the plugin libraries instead.");
}

TEST_F(PluginLoading, MissingFile) {
    test::TempDir dir;
    const auto file = dir.path() / "libiotgw-gone.so";
    EXPECT_EQ(registry.load_file(file), nullptr);
    EXPECT_EQ(only_failure().message,
              file.string() + ": cannot load the library (No such file or directory): check the path "
                              "and its permissions.");
}

TEST_F(PluginLoading, DanglingSymlinkIsReported) {
    test::TempDir dir;
    const auto link = dir.path() / "libiotgw-dangling.so";
    fs::create_symlink(dir.path() / "nowhere.so", link);
    registry.load_directory(dir.path());
    EXPECT_EQ(only_failure().message, link.string() + ": is a symbolic link to " +
                                          (dir.path() / "nowhere.so").string() +
                                          ", which does not exist: fix the link or remove it.");
}

TEST_F(PluginLoading, OnlySoFilesAreLoaded) {
    test::TempDir dir;
    for (const char* lib : {"good_source", "good_sink"}) {
        const std::string name = std::string("libiotgw-") + lib + ".so";
        fs::create_symlink(fixture_library("good", lib), dir.path() / name);
    }
    dir.write("README.txt", "not a plugin");
    dir.write("libiotgw-old.so.disabled", "not a plugin");
    dir.write("libiotgw-versioned.so.1", "not a plugin");
    fs::create_directory(dir.path() / "subdir.so");
    dir.write("nested/libiotgw-nested.so", "not loaded: not recursive");

    registry.load_directory(dir.path());
    EXPECT_TRUE(registry.failures().empty()) << registry.failures().front().message;
    EXPECT_THAT(names(registry.plugins()), ElementsAre("fixture_source", "fixture_sink"));
}

TEST_F(PluginLoading, SameLibraryThroughASymlinkedDirectoryIsLoadedOnce) {
    test::TempDir dir;
    const auto alias = dir.path() / "alias";
    fs::create_directory_symlink(fixture_case_dir("good"), alias);

    registry.load_directory(fixture_case_dir("good"));
    const LoadedPlugin* first = registry.find(IOTGW_KIND_SINK, "fixture_sink");
    registry.load_directory(alias);
    registry.load_directory(fixture_case_dir("good"));
    EXPECT_EQ(registry.load_file(alias / "libiotgw-good_sink.so"), first);

    EXPECT_TRUE(registry.failures().empty()) << registry.failures().front().message;
    EXPECT_EQ(registry.plugins().size(), 3u);
    EXPECT_EQ(first->origin, fixture_library("good", "good_sink").string());
}

TEST_F(PluginLoading, RefusedLibraryReachedTwiceIsReportedOnce) {
    registry.load_directory(fixture_case_dir("no_entry_symbol"));
    registry.load_directory(fixture_case_dir("no_entry_symbol"));
    EXPECT_EQ(registry.failures().size(), 1u);
}

TEST_F(PluginLoading, GoodAndBrokenDirectoriesTogether) {
    registry.load_directory(fixture_case_dir("good"));
    registry.load_directory(fixture_case_dir("future_major_abi"));
    registry.load_directory(fixture_case_dir("throwing_create"));
    EXPECT_EQ(registry.plugins().size(), 4u);
    EXPECT_EQ(registry.failures().size(), 1u);
    EXPECT_FALSE(registry.has_fatal_failures());
}

bool is_mapped(const fs::path& lib) {
    void* h = ::dlopen(lib.c_str(), RTLD_NOW | RTLD_NOLOAD);
    if (h == nullptr) return false;
    ::dlclose(h);
    return true;
}

// Hidden visibility and -fno-gnu-unique are what let dlclose really unload a plugin; a library
// that stays mapped after its registry is gone would keep stale code and statics around.
TEST(PluginUnloading, RegistriesCanBeCreatedAndDestroyedRepeatedly) {
    test::RecordingHost host;
    const auto lib = fixture_library("good", "good_source");
    ASSERT_FALSE(is_mapped(lib));
    for (int round = 0; round < 3; ++round) {
        auto registry = std::make_unique<PluginRegistry>(host.api());
        registry->load_directory(fixture_case_dir("good"));
        registry->load_directory(fixture_case_dir("throwing_create"));
        ASSERT_EQ(registry->plugins().size(), 4u);
        EXPECT_TRUE(is_mapped(lib));
        registry.reset();
        EXPECT_FALSE(is_mapped(lib)) << "round " << round << ": " << lib << " was not unloaded";
    }
}

TEST(PluginUnloading, RefusedLibrariesAreUnloadedAtOnce) {
    test::RecordingHost host;
    PluginRegistry registry(host.api());
    registry.load_directory(fixture_case_dir("future_major_abi"));
    registry.load_directory(fixture_case_dir("duplicate_name"));
    EXPECT_FALSE(is_mapped(fixture_library("future_major_abi", "future_major_abi")));
    EXPECT_TRUE(is_mapped(fixture_library("duplicate_name", "duplicate_name_a")));
    EXPECT_FALSE(is_mapped(fixture_library("duplicate_name", "duplicate_name_b")));
}

}  // namespace
}  // namespace iotgw
