// localcore's CONNECT authentication cost against the size of the registry (issue 17, "localcore
// at fleet scale"): the certificate check the plugin's basic-auth handler runs for every CONNECT
// (broker_auth.cpp -> authenticate_certificate), without mosquitto, at 10, 1,000 and 10,000
// registered things.
//
// Two variants in one run, so the baseline is measured on the same machine at the same moment:
// - ParseEachTime: what the plugin did before the registry index, read and parse the whole
//   registry.json, look the certificate up, compile its policies;
// - Indexed: the plugin now, one stat of registry.json (the file is unchanged, so no parse) and
//   hash lookups in the index with the policies compiled once. Target: flat in the registry size.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "atomic_file.hpp"
#include "registry.hpp"
#include "registry_fleet.hpp"
#include "registry_index.hpp"

namespace {

namespace fs = std::filesystem;
using localcore::test::fleet_certificate_id;
using localcore::test::fleet_thing;

// A data directory holding a registry of `things` things, removed afterwards.
class FleetDir {
public:
    explicit FleetDir(std::size_t things) {
        std::string pattern = (fs::temp_directory_path() / "bench_localcore_auth.XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) throw localcore::Error("cannot create a temporary directory");
        dir_ = pattern;
        localcore::write_file_atomic(dir_ / "registry.json",
                                     localcore::registry_to_json(localcore::test::fleet_registry(things)), 0600);
    }
    ~FleetDir() {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    FleetDir(const FleetDir&) = delete;
    FleetDir& operator=(const FleetDir&) = delete;
    const fs::path& dir() const { return dir_; }

private:
    fs::path dir_;
};

// The plugin's CONNECT before the index (git history of broker_auth.cpp): Registry::snapshot()
// read and parsed the file, then the certificate's policies were compiled for this connection.
bool connect_parse_each_time(const localcore::Registry& registry, const std::string& fingerprint,
                             const std::string& client_id) {
    const localcore::RegistryData data = registry.snapshot();
    const auto cert = data.certificates.find(fingerprint);
    if (cert == data.certificates.end() || cert->second.status != localcore::CertStatus::Active) return false;
    const auto& things = cert->second.things;
    const bool attached = std::find(things.begin(), things.end(), client_id) != things.end();
    localcore::PolicySet policies;
    for (const std::string& name : cert->second.policies) {
        const auto record = data.policies.find(name);
        if (record != data.policies.end()) policies.add(localcore::Policy::parse(record->second.document, name));
    }
    return attached && !policies.policies().empty();
}

void report(benchmark::State& state) {
    state.counters["connects_per_s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
    state.counters["things"] = static_cast<double>(state.range(0));
}

void BM_ConnectAuth_ParseEachTime(benchmark::State& state) {
    const auto things = static_cast<std::size_t>(state.range(0));
    FleetDir fleet(things);
    const auto registry = localcore::Registry::open(fleet.dir());
    std::size_t i = 0;
    for (auto _ : state) {
        const std::size_t n = i++ % things;
        if (!connect_parse_each_time(registry, fleet_certificate_id(n), fleet_thing(n))) {
            state.SkipWithError("a registered certificate was refused");
            break;
        }
    }
    report(state);
}

void BM_ConnectAuth_Indexed(benchmark::State& state) {
    const auto things = static_cast<std::size_t>(state.range(0));
    FleetDir fleet(things);
    localcore::RegistryIndex index(fleet.dir() / "registry.json");
    index.refresh();  // the broker's first CONNECT after the file changed pays the one parse
    std::size_t i = 0;
    for (auto _ : state) {
        const std::size_t n = i++ % things;
        index.refresh();  // what every CONNECT does: one stat
        auto result = localcore::authenticate_certificate(index, fleet_certificate_id(n), fleet_thing(n));
        if (result.certificate == nullptr || !result.thing_attached) {
            state.SkipWithError(result.refusal.c_str());
            break;
        }
        benchmark::DoNotOptimize(result);
    }
    if (index.parse_count() != 1) state.SkipWithError("the unchanged registry was parsed again");
    report(state);
}

BENCHMARK(BM_ConnectAuth_ParseEachTime)->Arg(10)->Arg(1'000)->Arg(10'000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ConnectAuth_Indexed)->Arg(10)->Arg(1'000)->Arg(10'000)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
