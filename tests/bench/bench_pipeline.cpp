// Pipeline runtime throughput: messages/s and heap allocations per message through a 3-stage
// in-process pipeline (source -> 3 processors -> sink) on one core.
//
// Target (issue "Gateway core"): >= 1,000,000 small messages/s and no allocation per message
// beyond the payload. Two variants: stages linked into this binary, and the in-tree `filter`
// plugin loaded from its .so three times (the real dlopen'd path through the C ABI).
#include <iotgw/core/config_loader.hpp>
#include <iotgw/core/gateway.hpp>
#include <iotgw/core/plugin_registry.hpp>
#include <iotgw/sdk.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>

// Every heap allocation in the process, the plugins' included (they resolve operator new to
// this executable's definition).
static std::atomic<uint64_t> g_allocations{0};

// GCC cannot see that these deletes pair with the malloc in our operator new.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t n) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

using iotgw::sdk::Field;

iotgw_host_instance* g_source = nullptr;
uint64_t g_sunk = 0;

class BenchSource final : public iotgw::sdk::Source {
public:
    BenchSource(iotgw::sdk::Host h, const iotgw::sdk::Config&) : Source(h) { g_source = h.get(); }
};

class Pass final : public iotgw::sdk::Processor {
public:
    Pass(iotgw::sdk::Host h, const iotgw::sdk::Config&) : Processor(h) {}
    void on_message(const iotgw::sdk::Delivery& d, uint32_t, const iotgw::sdk::Message& m) override { forward(d, m); }
};

class CountSink final : public iotgw::sdk::Sink {
public:
    CountSink(iotgw::sdk::Host h, const iotgw::sdk::Config&) : Sink(h) {}
    void on_message(const iotgw::sdk::Delivery&, uint32_t, const iotgw::sdk::Message& m) override {
        g_sunk += m.payload.size() > 0 ? 1 : 0;
    }
};

const iotgw_plugin_descriptor* source_entry(const iotgw_host_api* h) {
    static const iotgw::sdk::PluginInfo i{.abi_major = 1, .abi_minor = 0, .name = "bench_source", .version = "1",
                                          .description = "", .fields = {}};
    return iotgw::sdk::detail::entry<BenchSource>(h, i);
}
const iotgw_plugin_descriptor* pass_entry(const iotgw_host_api* h) {
    static const iotgw::sdk::PluginInfo i{.abi_major = 1, .abi_minor = 0, .name = "pass", .version = "1",
                                          .description = "", .fields = {}};
    return iotgw::sdk::detail::entry<Pass>(h, i);
}
const iotgw_plugin_descriptor* sink_entry(const iotgw_host_api* h) {
    static const iotgw::sdk::PluginInfo i{.abi_major = 1, .abi_minor = 0, .name = "count", .version = "1",
                                          .description = "", .fields = {}};
    return iotgw::sdk::detail::entry<CountSink>(h, i);
}

constexpr const char* kLinkedStages = R"(
[gateway]
thing = "AMR-001"
[sources.src]
type = "bench_source"
[processors.s1]
type = "pass"
[processors.s2]
type = "pass"
[processors.s3]
type = "pass"
[sinks.out]
type = "count"
[[pipelines]]
name = "bench"
from = "src"
via = ["s1", "s2", "s3"]
to = ["out"]
)";

constexpr const char* kPluginStages = R"(
[gateway]
thing = "AMR-001"
[sources.src]
type = "bench_source"
[processors.s1]
type = "filter"
topics = ["amr/+/heartbeat"]
[processors.s2]
type = "filter"
topics = ["amr/#"]
[processors.s3]
type = "filter"
topics = ["debug/#"]
invert = true
[sinks.out]
type = "count"
[[pipelines]]
name = "bench"
from = "src"
via = ["s1", "s2", "s3"]
to = ["out"]
)";

void run_pipeline(benchmark::State& state, const char* toml, bool load_plugin_dir) {
    iotgw::core::PluginRegistry registry(iotgw::core::host_api_table());
    registry.add_builtin(&source_entry, "builtin:bench");
    registry.add_builtin(&pass_entry, "builtin:bench");
    registry.add_builtin(&sink_entry, "builtin:bench");
    iotgw::core::LoadOptions opts;
    opts.use_default_plugin_dirs = load_plugin_dir;
    opts.default_plugin_dirs = {IOTGW_BUILD_PLUGIN_DIR};
    iotgw::core::Diagnostics diags;
    auto cfg = iotgw::core::load_config_text(toml, "bench.toml", registry, diags, opts);
    if (!cfg) {
        for (const auto& d : diags.items()) std::fprintf(stderr, "%s\n", d.str().c_str());
        state.SkipWithError("benchmark config invalid");
        return;
    }
    boost::asio::io_context io;
    iotgw::core::Logger log([](int, std::string_view) {}, IOTGW_LOG_WARNING);
    iotgw::core::Gateway gw(io, log);
    std::string error;
    if (!gw.start(std::move(*cfg), error)) {
        state.SkipWithError(error.c_str());
        return;
    }
    // A small heartbeat-sized message; built once, as a device driver would reuse its buffer.
    static const char kTopic[] = "amr/AMR-001/heartbeat";
    static const char kPayload[] = R"({"seq":1,"ts":1795873250446,"uptime_ms":2000})";
    iotgw_message m = iotgw::sdk::Message{kTopic, kPayload, 1, true}.to_c();
    const iotgw_host_api* api = iotgw::core::host_api_table();
    g_sunk = 0;
    const uint64_t allocs_before = g_allocations.load();
    for (auto _ : state) {
        api->emit(g_source, nullptr, 0, &m);
    }
    const uint64_t allocs = g_allocations.load() - allocs_before;
    if (g_sunk != static_cast<uint64_t>(state.iterations())) state.SkipWithError("messages lost in the pipeline");
    state.counters["msgs_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
    state.counters["allocs_per_msg"] = static_cast<double>(allocs) / static_cast<double>(state.iterations());
    state.SetItemsProcessed(state.iterations());
}

void BM_ThreeStagePipeline_LinkedStages(benchmark::State& state) { run_pipeline(state, kLinkedStages, false); }
void BM_ThreeStagePipeline_FilterPluginSo(benchmark::State& state) { run_pipeline(state, kPluginStages, true); }

}  // namespace

BENCHMARK(BM_ThreeStagePipeline_LinkedStages);
BENCHMARK(BM_ThreeStagePipeline_FilterPluginSo);

BENCHMARK_MAIN();
